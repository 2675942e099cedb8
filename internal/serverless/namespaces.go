package serverless

import (
	"context"
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
	if in.DbName != nil {
		v.LengthAndPattern("dbName", *in.DbName, 1, 127, dbNameRe, dbNameRe.String())
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
		if found, err := namespaceResource.existing(s, tx, sc, name, ensure, &ns); found || err != nil {
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
	return namespaceResource.get(ctx, s, sc, name)
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
	return namespaceResource.list(ctx, s, sc, "ListNamespaces", after, max)
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
	return namespaceResource.change(ctx, s, sc, *in.NamespaceName, id, StatusModifying, StatusAvailable, func(_ store.Tx, ns *Namespace) error {
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
		return nil
	})
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
	return namespaceResource.change(ctx, s, sc, name, id, StatusDeleting, "", func(tx store.Tx, _ *Namespace) error {
		var attached string
		err := s.scanWorkgroups(tx, sc, "", func(wg Workgroup) (bool, error) {
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
		return nil
	})
}
