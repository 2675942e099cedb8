package serverless

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/ids"
	"github.com/idcgate/idcgate/internal/pagetoken"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// DefaultCapacityRPU is the per-account, per-region RPU quota.
const DefaultCapacityRPU = 5120

// IdcApplicationResolver tells whether a Redshift IdC application exists.
type IdcApplicationResolver interface {
	LookupIdcApplication(ctx context.Context, scope Scope, arn string) error
}

// Service implements the namespace and workgroup operations.
type Service struct {
	Store store.Store
	// Versions, when set, is Store's version source (the embedded store
	// underneath its wrappers): WorkgroupsWithNamespaces then keeps
	// resolved sets while nothing under "rs/" changed. Nil for a store that
	// cannot vouch for its reads (a shared one): every call reads.
	Versions        store.Versioned
	Now             func() time.Time
	Rand            io.Reader
	TransitionDelay time.Duration
	CapacityRPU     int
	Pages           *pagetoken.Codec
	IdcApplications IdcApplicationResolver
	// Networks are the accounts' emulated VPCs, by account id; an account
	// without one has its subnets taken as given.
	Networks map[string]Network
	// OnDeleteWorkgroup runs inside DeleteWorkgroup's transaction (the
	// keyring destroys the workgroup's keys there).
	OnDeleteWorkgroup func(tx store.Tx, sc Scope, wg Workgroup) error
	// OnCreateWorkgroup runs inside the transaction that creates a
	// workgroup (CreateWorkgroup, EnsureWorkgroup): the keyring creates the
	// workgroup's keys there, so they exist exactly while it does.
	OnCreateWorkgroup func(tx store.Tx, sc Scope, wg Workgroup) error
	// AfterDeleteWorkgroup runs once DeleteWorkgroup's transaction has
	// committed (the keyring drops its cached keys then, not before, so a
	// concurrent reader cannot cache them again).
	AfterDeleteWorkgroup func(sc Scope, wg Workgroup)
	// AfterCreateNamespace runs once the transaction that created a
	// namespace has committed (not for one EnsureNamespace found): the
	// managed upstream creates its database then.
	AfterCreateNamespace func(sc Scope, ns Namespace)

	workgroups store.Decoded[Workgroup]
	namespaces store.Decoded[Namespace]
	sets       store.Kept[string, resolvedSet]
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) capacity() int {
	if s.CapacityRPU > 0 {
		return s.CapacityRPU
	}
	return DefaultCapacityRPU
}

// resourceSegment is the first key segment of every record this service
// keeps (see store.Versioned).
const resourceSegment = "rs"

func nsPrefix(sc Scope) string { return resourceSegment + "/" + sc.Account + "/" + sc.Region + "/ns/" }
func wgPrefix(sc Scope) string { return resourceSegment + "/" + sc.Account + "/" + sc.Region + "/wg/" }

// NamespaceARN is a namespace's ARN.
func NamespaceARN(sc Scope, id string) string {
	return "arn:aws:redshift-serverless:" + sc.Region + ":" + sc.Account + ":namespace/" + id
}

// WorkgroupARN is a workgroup's ARN.
func WorkgroupARN(sc Scope, id string) string {
	return "arn:aws:redshift-serverless:" + sc.Region + ":" + sc.Account + ":workgroup/" + id
}

// settle applies a due transition; it reports false when the resource is gone.
func settle(status *Status, pending **transition, now time.Time) bool {
	p := *pending
	if p == nil || now.Before(p.At) {
		return true
	}
	*pending = nil
	if p.To == "" {
		return false
	}
	*status = p.To
	return true
}

// begin puts a resource into a transient state until the delay has passed;
// with no delay the transition completes at once. It reports false when the
// resource is gone now (a delete with no delay).
func (s *Service) begin(status *Status, pending **transition, transient, to Status) bool {
	*status = transient
	*pending = &transition{To: to, At: s.now().Add(s.TransitionDelay)}
	if s.TransitionDelay > 0 {
		return true
	}
	if to == "" {
		*pending = nil
		return false
	}
	return settle(status, pending, s.now())
}

// loadRecord reads and settles a record at key; when tx is not nil, one
// that is gone is purged. state exposes the record's status fields.
// notFound builds the error for a missing record only when it is missing
// (the happy path allocates nothing for it).
func loadRecord[T any](s *Service, r store.Reader, tx store.Tx, key string, state func(*T) (*Status, **transition), notFound func(string) error, name string) (T, error) {
	var rec T
	if err := store.GetJSON(r, key, &rec); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return rec, notFound(name)
		}
		return rec, err
	}
	st, pending := state(&rec)
	if !settle(st, pending, s.now()) {
		if tx != nil {
			if err := tx.Delete(key); err != nil {
				return rec, err
			}
		}
		return rec, notFound(name)
	}
	return rec, nil
}

func (s *Service) loadNamespace(r store.Reader, tx store.Tx, sc Scope, name string) (Namespace, error) {
	return loadRecord(s, r, tx, nsPrefix(sc)+name, func(n *Namespace) (*Status, **transition) { return &n.Status, &n.Pending }, namespaceNotFound, name)
}

func (s *Service) loadWorkgroup(r store.Reader, tx store.Tx, sc Scope, name string) (Workgroup, error) {
	return loadRecord(s, r, tx, wgPrefix(sc)+name, func(w *Workgroup) (*Status, **transition) { return &w.Status, &w.Pending }, workgroupNotFound, name)
}

// loadNamespaceID loads name for a change inside tx, and only if it is still
// the namespace with this id.
func (s *Service) loadNamespaceID(tx store.Tx, sc Scope, name, id string) (Namespace, error) {
	ns, err := s.loadNamespace(tx, tx, sc, name)
	if err == nil && ns.NamespaceId != id {
		return Namespace{}, namespaceNotFound(name)
	}
	return ns, err
}

// loadWorkgroupID is loadNamespaceID for workgroups.
func (s *Service) loadWorkgroupID(tx store.Tx, sc Scope, name, id string) (Workgroup, error) {
	wg, err := s.loadWorkgroup(tx, tx, sc, name)
	if err == nil && wg.WorkgroupId != id {
		return Workgroup{}, workgroupNotFound(name)
	}
	return wg, err
}

// scanWorkgroups calls fn for every live workgroup of the scope.
func (s *Service) scanWorkgroups(r store.Reader, sc Scope, after string, fn func(Workgroup) (bool, error)) error {
	now := s.now()
	return r.Scan(wgPrefix(sc), after, func(_ string, v []byte) (bool, error) {
		var wg Workgroup
		if err := jsonUnmarshal(v, &wg); err != nil {
			return false, err
		}
		if !settle(&wg.Status, &wg.Pending, now) {
			return true, nil
		}
		return fn(wg)
	})
}

func (s *Service) newID() (string, error) { return ids.UUID(s.Rand) }

func (s *Service) checkIdcApplication(ctx context.Context, sc Scope, arn *string) error {
	if arn == nil {
		return nil
	}
	if s.IdcApplications == nil {
		return validation.Newf("Redshift IdC application %s does not exist.", *arn)
	}
	err := s.IdcApplications.LookupIdcApplication(ctx, sc, *arn)
	if errors.Is(err, ErrIdcApplicationNotFound) {
		return validation.Newf("Redshift IdC application %s does not exist.", *arn)
	}
	return err
}

func tooManyTags(name string, tags []Tag) error {
	if len(tags) > MaxTags {
		return errorf(ErrTooManyTags, name, "Exceeded the number of tags allowed for resource %s: %d tags given, the maximum is %d.", name, len(tags), MaxTags)
	}
	return nil
}

func orDefault(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

func unavailable(kind, name string, st Status) error {
	return errorf(ErrConflict, "", "%s %s is currently %s; it must be AVAILABLE for this operation.", kind, name, st)
}

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

// pageStart decodes a nextToken into the key to scan after.
func (s *Service) pageStart(tok *string, op string, sc Scope, prefix string) (string, error) {
	if tok == nil {
		return "", nil
	}
	p, err := s.Pages.DecodeFor(*tok, op, sc.Account, sc.Region)
	switch {
	case errors.Is(err, pagetoken.ErrInvalidToken) || err == nil && !strings.HasPrefix(p.After, prefix):
		return "", validation.Newf("Invalid nextToken provided.")
	case err != nil:
		return "", err // the codec itself is broken: an internal error
	}
	return p.After, nil
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

// CreateWorkgroup creates a workgroup; it is CREATING for the transition delay.
func (s *Service) CreateWorkgroup(ctx context.Context, sc Scope, in CreateWorkgroupInput) (Workgroup, error) {
	return s.createWorkgroup(ctx, sc, in, false)
}

// EnsureWorkgroup creates the workgroup, AVAILABLE at once, if it does not exist.
func (s *Service) EnsureWorkgroup(ctx context.Context, sc Scope, in CreateWorkgroupInput) (Workgroup, error) {
	return s.createWorkgroup(ctx, sc, in, true)
}

func (s *Service) createWorkgroup(ctx context.Context, sc Scope, in CreateWorkgroupInput, ensure bool) (Workgroup, error) {
	var v validation.Collector
	checkName(&v, "workgroupName", in.WorkgroupName)
	checkName(&v, "namespaceName", in.NamespaceName)
	checkWorkgroupCommon(&v, in.BaseCapacity, in.MaxCapacity, in.Port, in.ConfigParameters, in.TrackName, in.IpAddressType)
	checkTags(&v, in.Tags)
	if err := v.Err(); err != nil {
		return Workgroup{}, err
	}
	name, nsName := *in.WorkgroupName, *in.NamespaceName
	if err := tooManyTags(name, in.Tags); err != nil {
		return Workgroup{}, err
	}
	id, err := s.newID()
	if err != nil {
		return Workgroup{}, err
	}
	base := int32(128)
	if in.BaseCapacity != nil {
		base = *in.BaseCapacity
	}
	var maxCap int32
	if in.MaxCapacity != nil {
		maxCap = *in.MaxCapacity
		if maxCap < base {
			var v validation.Collector
			v.Add("maxCapacity", maxCap, "Member must be greater than or equal to baseCapacity")
			return Workgroup{}, v.Err()
		}
	}
	port := int32(5439)
	if in.Port != nil {
		port = *in.Port
	}
	ipType := orDefault(in.IpAddressType, "ipv4")
	subnets, err := s.placeWorkgroup(sc, in.SubnetIds, nil, ipType)
	if err != nil {
		return Workgroup{}, err
	}
	wg := Workgroup{
		WorkgroupArn:       WorkgroupARN(sc, id),
		WorkgroupId:        id,
		WorkgroupName:      name,
		NamespaceName:      nsName,
		BaseCapacity:       base,
		MaxCapacity:        maxCap,
		Port:               port,
		Endpoint:           Endpoint{Address: name + "." + sc.Account + "." + sc.Region + ".redshift-serverless.amazonaws.com", Port: port},
		ConfigParameters:   mergeParameters(defaultConfigParameters, in.ConfigParameters),
		EnhancedVpcRouting: in.EnhancedVpcRouting != nil && *in.EnhancedVpcRouting,
		PubliclyAccessible: in.PubliclyAccessible != nil && *in.PubliclyAccessible,
		SecurityGroupIds:   in.SecurityGroupIds,
		SubnetIds:          subnets,
		CreationDate:       s.now().Truncate(time.Second),
		TrackName:          orDefault(in.TrackName, "current"),
		WorkgroupVersion:   "1.0.84506",
		PatchVersion:       "patch 194",
		IpAddressType:      ipType,
		Tags:               in.Tags,
	}
	if ensure {
		wg.Status = StatusAvailable
	} else {
		s.begin(&wg.Status, &wg.Pending, StatusCreating, StatusAvailable)
	}
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		existing, err := s.loadWorkgroup(tx, tx, sc, name)
		switch {
		case err == nil && ensure:
			wg = existing
			return nil
		case err == nil:
			return errorf(ErrConflict, "", "Workgroup with name %s already exists.", name)
		case !errors.Is(err, ErrNotFound):
			return err
		}
		ns, err := s.loadNamespace(tx, tx, sc, nsName)
		if err != nil {
			return err
		}
		if ns.Status != StatusAvailable {
			return unavailable("Namespace", nsName, ns.Status)
		}
		var other string
		used := 0
		err = s.scanWorkgroups(tx, sc, "", func(w Workgroup) (bool, error) {
			if w.NamespaceName == nsName {
				other = w.WorkgroupName
			}
			used += int(w.BaseCapacity)
			return true, nil
		})
		if err != nil {
			return err
		}
		if other != "" {
			return errorf(ErrConflict, "", "Namespace %s already has workgroup %s; a namespace can have only one workgroup.", nsName, other)
		}
		if used+int(base) > s.capacity() {
			return s.insufficient(base, used)
		}
		if s.OnCreateWorkgroup != nil {
			if err := s.OnCreateWorkgroup(tx, sc, wg); err != nil {
				return err
			}
		}
		return store.PutJSON(tx, wgPrefix(sc)+name, wg)
	})
	if err != nil {
		return Workgroup{}, err
	}
	return wg, nil
}

func (s *Service) insufficient(requested int32, used int) error {
	return errorf(ErrInsufficientCapacity, "", "There is not enough capacity for %d RPUs: %d of the %d RPUs available to this account in this region are in use.", requested, used, s.capacity())
}

func mergeParameters(base, over []ConfigParameter) []ConfigParameter {
	out := slices.Clone(base)
	for _, p := range over {
		for i := range out {
			if out[i].ParameterKey == p.ParameterKey {
				out[i].ParameterValue = p.ParameterValue
			}
		}
	}
	return out
}

// GetWorkgroup returns a workgroup.
func (s *Service) GetWorkgroup(ctx context.Context, sc Scope, name string) (Workgroup, error) {
	var v validation.Collector
	checkName(&v, "workgroupName", &name)
	if err := v.Err(); err != nil {
		return Workgroup{}, err
	}
	var wg Workgroup
	err := s.Store.View(ctx, func(r store.Reader) error {
		var err error
		wg, err = s.loadWorkgroup(r, nil, sc, name)
		return err
	})
	return wg, err
}

// WorkgroupWithNamespace returns a workgroup and its namespace from one snapshot.
func (s *Service) WorkgroupWithNamespace(ctx context.Context, sc Scope, name string) (Workgroup, Namespace, error) {
	var wg Workgroup
	var ns Namespace
	err := s.Store.View(ctx, func(r store.Reader) error {
		var err error
		if wg, err = s.loadWorkgroup(r, nil, sc, name); err != nil {
			return err
		}
		ns, err = s.loadNamespace(r, nil, sc, wg.NamespaceName)
		return err
	})
	return wg, ns, err
}

// ListWorkgroups lists workgroups in name order.
func (s *Service) ListWorkgroups(ctx context.Context, sc Scope, in ListWorkgroupsInput) ([]Workgroup, *string, error) {
	var v validation.Collector
	max := checkMaxResults(&v, in.MaxResults)
	if in.OwnerAccount != nil {
		v.Pattern("ownerAccount", *in.OwnerAccount, accountRe, accountRe.String())
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	after, err := s.pageStart(in.NextToken, "ListWorkgroups", sc, wgPrefix(sc))
	if err != nil {
		return nil, nil, err
	}
	if in.OwnerAccount != nil && *in.OwnerAccount != sc.Account {
		return []Workgroup{}, nil, nil
	}
	var out []Workgroup
	var next *string
	err = s.Store.View(ctx, func(r store.Reader) error {
		return s.scanWorkgroups(r, sc, after, func(wg Workgroup) (bool, error) {
			if len(out) == max {
				tok, err := s.Pages.New("ListWorkgroups", sc.Account, sc.Region, wgPrefix(sc)+out[len(out)-1].WorkgroupName)
				if err != nil {
					return false, err
				}
				next = &tok
				return false, nil
			}
			out = append(out, wg)
			return true, nil
		})
	})
	if err != nil {
		return nil, nil, err
	}
	return out, next, nil
}

// UpdateWorkgroup changes the workgroup whose id is id (see
// UpdateNamespace); it is MODIFYING for the transition delay.
func (s *Service) UpdateWorkgroup(ctx context.Context, sc Scope, id string, in UpdateWorkgroupInput) (Workgroup, error) {
	var v validation.Collector
	checkName(&v, "workgroupName", in.WorkgroupName)
	checkWorkgroupCommon(&v, in.BaseCapacity, in.MaxCapacity, in.Port, in.ConfigParameters, in.TrackName, in.IpAddressType)
	if err := v.Err(); err != nil {
		return Workgroup{}, err
	}
	name := *in.WorkgroupName
	var wg Workgroup
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if wg, err = s.loadWorkgroupID(tx, sc, name, id); err != nil {
			return err
		}
		if wg.Status != StatusAvailable {
			return unavailable("Workgroup", name, wg.Status)
		}
		if in.BaseCapacity != nil && *in.BaseCapacity != wg.BaseCapacity {
			used := 0
			err := s.scanWorkgroups(tx, sc, "", func(w Workgroup) (bool, error) {
				if w.WorkgroupName != name {
					used += int(w.BaseCapacity)
				}
				return true, nil
			})
			if err != nil {
				return err
			}
			if used+int(*in.BaseCapacity) > s.capacity() {
				return s.insufficient(*in.BaseCapacity, used)
			}
			wg.BaseCapacity = *in.BaseCapacity
		}
		if in.MaxCapacity != nil {
			wg.MaxCapacity = *in.MaxCapacity
		}
		if wg.MaxCapacity != 0 && wg.MaxCapacity < wg.BaseCapacity {
			var v validation.Collector
			v.Add("maxCapacity", wg.MaxCapacity, "Member must be greater than or equal to baseCapacity")
			return v.Err()
		}
		if in.Port != nil {
			wg.Port, wg.Endpoint.Port = *in.Port, *in.Port
		}
		if in.ConfigParameters != nil {
			wg.ConfigParameters = mergeParameters(wg.ConfigParameters, in.ConfigParameters)
		}
		if in.EnhancedVpcRouting != nil {
			wg.EnhancedVpcRouting = *in.EnhancedVpcRouting
		}
		if in.PubliclyAccessible != nil {
			wg.PubliclyAccessible = *in.PubliclyAccessible
		}
		if in.SecurityGroupIds != nil {
			wg.SecurityGroupIds = in.SecurityGroupIds
		}
		if in.TrackName != nil {
			wg.TrackName = *in.TrackName
		}
		if in.SubnetIds != nil || in.IpAddressType != nil {
			ipType := orDefault(in.IpAddressType, wg.IpAddressType)
			subnets, err := s.placeWorkgroup(sc, in.SubnetIds, wg.SubnetIds, ipType)
			if err != nil {
				return err
			}
			wg.SubnetIds, wg.IpAddressType = subnets, ipType
		}
		s.begin(&wg.Status, &wg.Pending, StatusModifying, StatusAvailable)
		return store.PutJSON(tx, wgPrefix(sc)+name, wg)
	})
	return wg, err
}

// DeleteWorkgroup deletes the workgroup whose id is id (see
// UpdateNamespace); it is DELETING for the transition delay.
func (s *Service) DeleteWorkgroup(ctx context.Context, sc Scope, id string, in DeleteWorkgroupInput) (Workgroup, error) {
	var v validation.Collector
	checkName(&v, "workgroupName", in.WorkgroupName)
	if err := v.Err(); err != nil {
		return Workgroup{}, err
	}
	name := *in.WorkgroupName
	var wg Workgroup
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if wg, err = s.loadWorkgroupID(tx, sc, name, id); err != nil {
			return err
		}
		if wg.Status != StatusAvailable {
			return unavailable("Workgroup", name, wg.Status)
		}
		if s.OnDeleteWorkgroup != nil {
			if err := s.OnDeleteWorkgroup(tx, sc, wg); err != nil {
				return err
			}
		}
		if !s.begin(&wg.Status, &wg.Pending, StatusDeleting, "") {
			return tx.Delete(wgPrefix(sc) + name)
		}
		return store.PutJSON(tx, wgPrefix(sc)+name, wg)
	})
	if err == nil && s.AfterDeleteWorkgroup != nil {
		s.AfterDeleteWorkgroup(sc, wg)
	}
	return wg, err
}

// UpdateEachWorkgroup runs fn for every workgroup of the scope that is not
// being deleted and that need (read in one shared read transaction) says
// wants it, each in its own transaction that re-reads the workgroup first,
// so a delete committed meanwhile is never undone (start-up migrations,
// such as creating keys for workgroups made before keys were created with
// them: a start with nothing to migrate writes nothing).
func (s *Service) UpdateEachWorkgroup(ctx context.Context, sc Scope, need func(r store.Reader, wg Workgroup) (bool, error), fn func(tx store.Tx, wg Workgroup) error) error {
	var names []string
	err := s.Store.View(ctx, func(r store.Reader) error {
		return s.scanWorkgroups(r, sc, "", func(wg Workgroup) (bool, error) {
			ok, err := need(r, wg)
			if ok && wg.Status != StatusDeleting {
				names = append(names, wg.WorkgroupName)
			}
			return err == nil, err
		})
	})
	if err != nil {
		return err
	}
	for _, name := range names {
		err := s.Store.Update(ctx, func(tx store.Tx) error {
			wg, err := s.loadWorkgroup(tx, nil, sc, name)
			if errors.Is(err, ErrNotFound) || err == nil && wg.Status == StatusDeleting {
				return nil
			}
			if err != nil {
				return err
			}
			return fn(tx, wg)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// WorkgroupByID finds a live workgroup of the scope by its id.
func (s *Service) WorkgroupByID(ctx context.Context, sc Scope, id string) (Workgroup, error) {
	var out *Workgroup
	err := s.Store.View(ctx, func(r store.Reader) error {
		return s.scanWorkgroups(r, sc, "", func(wg Workgroup) (bool, error) {
			if wg.WorkgroupId == id {
				out = &wg
				return false, nil
			}
			return true, nil
		})
	})
	if err != nil {
		return Workgroup{}, err
	}
	if out == nil {
		return Workgroup{}, errorf(ErrNotFound, id, "Workgroup with id %s not found.", id)
	}
	return *out, nil
}

// WorkgroupsWithNamespaces resolves several workgroups and their namespaces
// in one read transaction, in order; the first missing one is the error.
// It is the issuance path's read, through the decoded-record and
// resolved-set caches; the records it returns are the caller's own copies.
func (s *Service) WorkgroupsWithNamespaces(ctx context.Context, sc Scope, names []string) ([]Workgroup, []Namespace, error) {
	// A store that sees all its writes vouches that nothing under "rs/"
	// changed since a set was resolved: then the set is the answer, with
	// no transaction (the version is read before the transaction below, so
	// a kept set is never older than the version it is kept under).
	versioned := s.Versions != nil
	var version uint64
	var key string
	if versioned {
		version = s.Versions.Version(resourceSegment)
		key, versioned = setKey(sc, names)
	}
	if versioned {
		if e, ok := s.sets.Get(key, version); ok {
			return cloneRecords(e.wgs), cloneRecords(e.nss), nil
		}
	}
	wgs := make([]Workgroup, 0, len(names))
	nss := make([]Namespace, 0, len(names))
	err := s.Store.View(ctx, func(r store.Reader) error {
		for _, n := range names {
			wg, err := viewRecord(s, &s.workgroups, r, wgPrefix(sc)+n, func(w *Workgroup) (*Status, **transition) { return &w.Status, &w.Pending }, workgroupNotFound, n)
			if err != nil {
				return err
			}
			ns, err := viewRecord(s, &s.namespaces, r, nsPrefix(sc)+wg.NamespaceName, func(n *Namespace) (*Status, **transition) { return &n.Status, &n.Pending }, namespaceNotFound, wg.NamespaceName)
			if err != nil {
				return err
			}
			wgs, nss = append(wgs, wg), append(nss, ns)
		}
		return nil
	})
	if err == nil && versioned && settled(wgs, nss) {
		s.sets.Put(key, version, resolvedSet{wgs: wgs, nss: nss})
		return cloneRecords(wgs), cloneRecords(nss), nil
	}
	return wgs, nss, err
}
