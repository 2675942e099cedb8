package serverless

import (
	"errors"
	"slices"
	"strings"

	"github.com/idcgate/idcgate/internal/store"
)

// viewRecord is loadRecord for the issuance path, through a decoded-record
// cache (its reads are dominated by JSON decoding otherwise). The cache's
// values are immutable: what it returns is a copy (clone), the caller's own.
func viewRecord[T record[T]](s *Service, cache *store.Decoded[T], r store.Reader, key string, state func(*T) (*Status, **transition), notFound func(string) error, name string) (T, error) {
	var rec T
	raw, err := store.Peek(r, key) // only compared and decoded inside the transaction
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return rec, notFound(name)
		}
		return rec, err
	}
	if rec, err = cache.Decode(key, raw); err != nil {
		return rec, err
	}
	rec = rec.clone()
	st, pending := state(&rec)
	if !settle(st, pending, s.now()) {
		return rec, notFound(name)
	}
	return rec, nil
}

// record is a stored record that copies itself (the caches hand out copies).
type record[T any] interface{ clone() T }

// clone is a deep copy: the cached record and the copy share nothing a
// caller could change.
func (w Workgroup) clone() Workgroup {
	w.ConfigParameters = slices.Clone(w.ConfigParameters)
	w.SecurityGroupIds = slices.Clone(w.SecurityGroupIds)
	w.SubnetIds = slices.Clone(w.SubnetIds)
	w.Tags = slices.Clone(w.Tags)
	w.Pending = clonePending(w.Pending)
	return w
}

// clone is a deep copy (see Workgroup.clone).
func (n Namespace) clone() Namespace {
	n.IamRoles = slices.Clone(n.IamRoles)
	n.LogExports = slices.Clone(n.LogExports)
	n.Tags = slices.Clone(n.Tags)
	n.Pending = clonePending(n.Pending)
	return n
}

func clonePending(p *transition) *transition {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// cloneRecords copies a kept set's records for a caller.
func cloneRecords[T record[T]](in []T) []T {
	out := make([]T, len(in))
	for i := range in {
		out[i] = in[i].clone()
	}
	return out
}

// resolvedSet is a resolved workgroup set (WorkgroupsWithNamespaces),
// kept by scope and names (setKey) in a store.Kept; its records are
// immutable (callers get cloneRecords copies).
type resolvedSet struct {
	wgs []Workgroup
	nss []Namespace
}

// setKey names a set; a name holding NUL (never a workgroup's) makes it
// ambiguous, so such a set is not kept.
func setKey(sc Scope, names []string) (string, bool) {
	key := sc.Account + "\x00" + sc.Region + "\x00" + strings.Join(names, "\x00")
	return key, strings.Count(key, "\x00") == len(names)+1
}

// settled tells whether no record of a set is in a transition: one that is
// changes status with the clock alone, without a write, so it is read
// afresh each time.
func settled(wgs []Workgroup, nss []Namespace) bool {
	for i := range wgs {
		if wgs[i].Pending != nil || nss[i].Pending != nil {
			return false
		}
	}
	return true
}
