package serverless

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// CreateNamespace creates a namespace, AVAILABLE at once.
func (s *Service) CreateNamespace(ctx context.Context, sc Scope, in CreateNamespaceInput) (Namespace, error) {
	return s.createNamespace(ctx, sc, in, false)
}

// EnsureNamespace creates the namespace if it does not exist.
func (s *Service) EnsureNamespace(ctx context.Context, sc Scope, in CreateNamespaceInput) (Namespace, error) {
	return s.createNamespace(ctx, sc, in, true)
}

func (s *Service) createNamespace(ctx context.Context, sc Scope, in CreateNamespaceInput, ensure bool) (Namespace, error) {
	var v validation.Collector
	checkName(&v, "namespaceName", in.NamespaceName)
	if in.DbName != nil && v.Length("dbName", *in.DbName, 1, 127) {
		v.Pattern("dbName", *in.DbName, dbNameRe, dbNameRe.String())
	}
	checkNamespaceCommon(&v, in.AdminUsername, in.AdminUserPassword, in.ManageAdminPassword, in.IamRoles, in.DefaultIamRoleArn, in.LogExports)
	if in.DefaultIamRoleArn != nil && !slices.Contains(in.IamRoles, *in.DefaultIamRoleArn) {
		v.Add("defaultIamRoleArn", *in.DefaultIamRoleArn, "Member must be one of the namespace's iamRoles")
	}
	checkTags(&v, in.Tags)
	if err := v.Err(); err != nil {
		return Namespace{}, err
	}
	name := *in.NamespaceName
	if err := tooManyTags(name, in.Tags); err != nil {
		return Namespace{}, err
	}
	if err := s.checkIdcApplication(ctx, sc, in.RedshiftIdcApplicationArn); err != nil {
		return Namespace{}, err
	}
	id, err := s.newID()
	if err != nil {
		return Namespace{}, err
	}
	ns := Namespace{
		NamespaceArn:      NamespaceARN(sc, id),
		NamespaceId:       id,
		NamespaceName:     name,
		AdminUsername:     orDefault(in.AdminUsername, ""),
		DbName:            orDefault(in.DbName, "dev"),
		DefaultIamRoleArn: orDefault(in.DefaultIamRoleArn, ""),
		IamRoles:          in.IamRoles,
		KmsKeyId:          orDefault(in.KmsKeyId, "AWS_OWNED_KMS_KEY"),
		LogExports:        in.LogExports,
		Status:            StatusAvailable,
		CreationDate:      s.now().Truncate(time.Second),
		Tags:              in.Tags,
		IdcApplicationArn: orDefault(in.RedshiftIdcApplicationArn, ""),
		AdminPasswordSet:  in.AdminUserPassword != nil,
	}
	created := false
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		created = false // the transaction may run again
		existing, err := s.loadNamespace(tx, tx, sc, name)
		switch {
		case err == nil && ensure:
			ns = existing
			return nil
		case err == nil:
			return errorf(ErrConflict, "", "Namespace with name %s already exists.", name)
		case !errors.Is(err, ErrNotFound):
			return err
		}
		created = true
		return store.PutJSON(tx, nsPrefix(sc)+name, ns)
	})
	if err != nil {
		return Namespace{}, err
	}
	if created && s.AfterCreateNamespace != nil {
		s.AfterCreateNamespace(sc, ns)
	}
	return ns, nil
}

// GetNamespace returns a namespace.
func (s *Service) GetNamespace(ctx context.Context, sc Scope, name string) (Namespace, error) {
	var v validation.Collector
	checkName(&v, "namespaceName", &name)
	if err := v.Err(); err != nil {
		return Namespace{}, err
	}
	var ns Namespace
	err := s.Store.View(ctx, func(r store.Reader) error {
		var err error
		ns, err = s.loadNamespace(r, nil, sc, name)
		return err
	})
	return ns, err
}

// ListNamespaces lists namespaces in name order.
func (s *Service) ListNamespaces(ctx context.Context, sc Scope, in ListInput) ([]Namespace, *string, error) {
	var v validation.Collector
	max := checkMaxResults(&v, in.MaxResults)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	after, err := s.pageStart(in.NextToken, "ListNamespaces", sc, nsPrefix(sc))
	if err != nil {
		return nil, nil, err
	}
	var out []Namespace
	var next *string
	now := s.now()
	err = s.Store.View(ctx, func(r store.Reader) error {
		return r.Scan(nsPrefix(sc), after, func(key string, val []byte) (bool, error) {
			var ns Namespace
			if err := jsonUnmarshal(val, &ns); err != nil {
				return false, err
			}
			if !settle(&ns.Status, &ns.Pending, now) {
				return true, nil
			}
			if len(out) == max {
				tok, err := s.Pages.New("ListNamespaces", sc.Account, sc.Region, nsPrefix(sc)+out[len(out)-1].NamespaceName)
				if err != nil {
					return false, err
				}
				next = &tok
				return false, nil
			}
			out = append(out, ns)
			return true, nil
		})
	})
	if err != nil {
		return nil, nil, err
	}
	return out, next, nil
}

// UpdateNamespace changes the namespace whose id is id; it is MODIFYING for
// the transition delay. The caller authorized that id: if the name now
// belongs to another namespace (deleted and recreated since), the change is
// refused as not found rather than applied to a resource never authorized.
func (s *Service) UpdateNamespace(ctx context.Context, sc Scope, id string, in UpdateNamespaceInput) (Namespace, error) {
	var v validation.Collector
	checkName(&v, "namespaceName", in.NamespaceName)
	checkNamespaceCommon(&v, in.AdminUsername, in.AdminUserPassword, in.ManageAdminPassword, in.IamRoles, in.DefaultIamRoleArn, in.LogExports)
	if (in.AdminUsername == nil) != (in.AdminUserPassword == nil) && (in.ManageAdminPassword == nil || !*in.ManageAdminPassword) {
		v.Add("adminUsername", orDefault(in.AdminUsername, ""), "adminUsername and adminUserPassword must be updated together")
	}
	if err := v.Err(); err != nil {
		return Namespace{}, err
	}
	if err := s.checkIdcApplication(ctx, sc, in.RedshiftIdcApplicationArn); err != nil {
		return Namespace{}, err
	}
	name := *in.NamespaceName
	var ns Namespace
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if ns, err = s.loadNamespaceID(tx, sc, name, id); err != nil {
			return err
		}
		if ns.Status != StatusAvailable {
			return unavailable("Namespace", name, ns.Status)
		}
		if in.AdminUsername != nil {
			ns.AdminUsername = *in.AdminUsername
			ns.AdminPasswordSet = true
		}
		if in.IamRoles != nil {
			ns.IamRoles = in.IamRoles
		}
		if in.DefaultIamRoleArn != nil {
			ns.DefaultIamRoleArn = *in.DefaultIamRoleArn
		}
		if ns.DefaultIamRoleArn != "" && !slices.Contains(ns.IamRoles, ns.DefaultIamRoleArn) {
			var v validation.Collector
			v.Add("defaultIamRoleArn", ns.DefaultIamRoleArn, "Member must be one of the namespace's iamRoles")
			return v.Err()
		}
		if in.KmsKeyId != nil {
			ns.KmsKeyId = *in.KmsKeyId
		}
		if in.LogExports != nil {
			ns.LogExports = in.LogExports
		}
		if in.RedshiftIdcApplicationArn != nil {
			ns.IdcApplicationArn = *in.RedshiftIdcApplicationArn
		}
		s.begin(&ns.Status, &ns.Pending, StatusModifying, StatusAvailable)
		return store.PutJSON(tx, nsPrefix(sc)+name, ns)
	})
	return ns, err
}

// DeleteNamespace deletes the namespace whose id is id (see UpdateNamespace)
// if it has no workgroup.
func (s *Service) DeleteNamespace(ctx context.Context, sc Scope, id string, in DeleteNamespaceInput) (Namespace, error) {
	var v validation.Collector
	checkName(&v, "namespaceName", in.NamespaceName)
	if in.FinalSnapshotRetentionPeriod != nil {
		v.Range("finalSnapshotRetentionPeriod", int64(*in.FinalSnapshotRetentionPeriod), -1, 3653)
	}
	if err := v.Err(); err != nil {
		return Namespace{}, err
	}
	name := *in.NamespaceName
	var ns Namespace
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if ns, err = s.loadNamespaceID(tx, sc, name, id); err != nil {
			return err
		}
		if ns.Status != StatusAvailable {
			return unavailable("Namespace", name, ns.Status)
		}
		var attached string
		err = s.scanWorkgroups(tx, sc, "", func(wg Workgroup) (bool, error) {
			if wg.NamespaceName == name {
				attached = wg.WorkgroupName
				return false, nil
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		if attached != "" {
			return errorf(ErrConflict, "", "Namespace %s has a workgroup (%s); delete the workgroup first.", name, attached)
		}
		if !s.begin(&ns.Status, &ns.Pending, StatusDeleting, "") {
			return tx.Delete(nsPrefix(sc) + name)
		}
		return store.PutJSON(tx, nsPrefix(sc)+name, ns)
	})
	return ns, err
}
