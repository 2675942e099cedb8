package serverless

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

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
			return Workgroup{}, maxBelowBase(maxCap)
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
		Endpoint:           Endpoint{Address: EndpointAddress(sc, name), Port: port},
		ConfigParameters:   mergeParameters(defaultConfigParameters, in.ConfigParameters),
		EnhancedVpcRouting: in.EnhancedVpcRouting != nil && *in.EnhancedVpcRouting,
		PubliclyAccessible: in.PubliclyAccessible != nil && *in.PubliclyAccessible,
		SecurityGroupIds:   in.SecurityGroupIds,
		SubnetIds:          subnets,
		CreationDate:       s.now().Truncate(time.Second),
		TrackName:          orDefault(in.TrackName, "current"),
		IpAddressType:      ipType,
		Tags:               in.Tags,
	}
	wg.setTrack(wg.TrackName)
	if ensure {
		wg.Status = StatusAvailable
	} else {
		s.begin(&wg.Status, &wg.Pending, StatusCreating, StatusAvailable)
	}
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		if found, err := workgroupResource.existing(s, tx, sc, name, ensure, &wg); found || err != nil {
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

// maxBelowBase refuses a maxCapacity below the workgroup's baseCapacity.
func maxBelowBase(maxCap int32) error {
	var v validation.Collector
	v.Add("maxCapacity", maxCap, "Member must be greater than or equal to baseCapacity")
	return v.Err()
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
	return workgroupResource.get(ctx, s, sc, name)
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
	return workgroupResource.list(ctx, s, sc, "ListWorkgroups", after, max)
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
	return workgroupResource.change(ctx, s, sc, name, id, StatusModifying, StatusAvailable, func(tx store.Tx, wg *Workgroup) error {
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
			return maxBelowBase(wg.MaxCapacity)
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
			wg.setTrack(*in.TrackName)
		}
		if in.SubnetIds != nil || in.IpAddressType != nil {
			ipType := orDefault(in.IpAddressType, wg.IpAddressType)
			subnets, err := s.placeWorkgroup(sc, in.SubnetIds, wg.SubnetIds, ipType)
			if err != nil {
				return err
			}
			wg.SubnetIds, wg.IpAddressType = subnets, ipType
		}
		return nil
	})
}

// DeleteWorkgroup deletes the workgroup whose id is id (see
// UpdateNamespace); it is DELETING for the transition delay.
func (s *Service) DeleteWorkgroup(ctx context.Context, sc Scope, id string, in DeleteWorkgroupInput) (Workgroup, error) {
	var v validation.Collector
	checkName(&v, "workgroupName", in.WorkgroupName)
	if err := v.Err(); err != nil {
		return Workgroup{}, err
	}
	wg, err := workgroupResource.change(ctx, s, sc, *in.WorkgroupName, id, StatusDeleting, "", func(tx store.Tx, wg *Workgroup) error {
		if s.OnDeleteWorkgroup != nil {
			return s.OnDeleteWorkgroup(tx, sc, *wg)
		}
		return nil
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
			wg, err := viewRecord(s, &s.workgroups, r, wgPrefix(sc)+n, workgroupResource.state, workgroupNotFound, n)
			if err != nil {
				return err
			}
			ns, err := viewRecord(s, &s.namespaces, r, nsPrefix(sc)+wg.NamespaceName, namespaceResource.state, namespaceNotFound, wg.NamespaceName)
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

// setTrack puts the workgroup on a track (validated: current or trailing)
// with that track's versions, so GetWorkgroup and GetTrack agree.
func (wg *Workgroup) setTrack(name string) {
	wg.TrackName = name
	if t, ok := TrackNamed(name); ok {
		wg.WorkgroupVersion, wg.PatchVersion = t.WorkgroupVersion, t.PatchVersion
	}
}
