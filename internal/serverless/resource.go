package serverless

import (
	"context"
	"errors"

	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// resource describes one of the service's two record types, a namespace
// or a workgroup, for the code the two share: loading, scanning, listing
// and changing a record.
type resource[T any] struct {
	kind      string // "Namespace" or "Workgroup", as messages name it
	nameField string // the wire member naming one, as validation names it
	prefix    func(Scope) string
	state     func(*T) (*Status, **transition)
	name      func(*T) string
	id        func(*T) string
	tags      func(*T) *[]Tag
	notFound  func(name string) error
}

var namespaceResource = resource[Namespace]{
	kind:      "Namespace",
	nameField: "namespaceName",
	prefix:    nsPrefix,
	state:     func(n *Namespace) (*Status, **transition) { return &n.Status, &n.Pending },
	name:      func(n *Namespace) string { return n.NamespaceName },
	id:        func(n *Namespace) string { return n.NamespaceId },
	tags:      func(n *Namespace) *[]Tag { return &n.Tags },
	notFound:  namespaceNotFound,
}

var workgroupResource = resource[Workgroup]{
	kind:      "Workgroup",
	nameField: "workgroupName",
	prefix:    wgPrefix,
	state:     func(w *Workgroup) (*Status, **transition) { return &w.Status, &w.Pending },
	name:      func(w *Workgroup) string { return w.WorkgroupName },
	id:        func(w *Workgroup) string { return w.WorkgroupId },
	tags:      func(w *Workgroup) *[]Tag { return &w.Tags },
	notFound:  workgroupNotFound,
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

// load is loadRecord for the record called name.
func (k resource[T]) load(s *Service, r store.Reader, tx store.Tx, sc Scope, name string) (T, error) {
	return loadRecord(s, r, tx, k.prefix(sc)+name, k.state, k.notFound, name)
}

// loadID loads name for a change inside tx, and only if it is still the
// record with this id.
func (k resource[T]) loadID(s *Service, tx store.Tx, sc Scope, name, id string) (T, error) {
	rec, err := k.load(s, tx, tx, sc, name)
	if err == nil && k.id(&rec) != id {
		var zero T
		return zero, k.notFound(name)
	}
	return rec, err
}

// scan calls fn for every live record of the scope after the key after.
func (k resource[T]) scan(s *Service, r store.Reader, sc Scope, after string, fn func(T) (bool, error)) error {
	now := s.now()
	return r.Scan(k.prefix(sc), after, func(_ string, v []byte) (bool, error) {
		var rec T
		if err := jsonUnmarshal(v, &rec); err != nil {
			return false, err
		}
		if st, pending := k.state(&rec); !settle(st, pending, now) {
			return true, nil
		}
		return fn(rec)
	})
}

// list is one page of the operation op: at most max live records of the
// scope after the key after, in name order, and the page token that
// resumes after the last of them when more remain.
func (k resource[T]) list(ctx context.Context, s *Service, sc Scope, op, after string, max int) ([]T, *string, error) {
	var out []T
	var next *string
	err := s.Store.View(ctx, func(r store.Reader) error {
		return k.scan(s, r, sc, after, func(rec T) (bool, error) {
			if len(out) == max {
				tok, err := s.Pages.New(op, sc.Account, sc.Region, k.prefix(sc)+k.name(&out[len(out)-1]))
				if err != nil {
					return false, err
				}
				next = &tok
				return false, nil
			}
			out = append(out, rec)
			return true, nil
		})
	})
	if err != nil {
		return nil, nil, err
	}
	return out, next, nil
}

// change runs fn, in one transaction, on the record called name if it is
// still the one with this id (see UpdateNamespace) and AVAILABLE; then
// the record is transient until the transition delay has passed, and
// becomes to (to == "": it is gone). It returns the record as changed,
// or as far as fn got when it failed.
func (k resource[T]) change(ctx context.Context, s *Service, sc Scope, name, id string, transient, to Status, fn func(tx store.Tx, rec *T) error) (T, error) {
	var rec T
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if rec, err = k.loadID(s, tx, sc, name, id); err != nil {
			return err
		}
		st, pending := k.state(&rec)
		if *st != StatusAvailable {
			return unavailable(k.kind, name, *st)
		}
		if err := fn(tx, &rec); err != nil {
			return err
		}
		key := k.prefix(sc) + name
		if !s.begin(st, pending, transient, to) {
			return tx.Delete(key)
		}
		return store.PutJSON(tx, key, rec)
	})
	return rec, err
}

// get returns the record called name.
func (k resource[T]) get(ctx context.Context, s *Service, sc Scope, name string) (T, error) {
	var v validation.Collector
	checkName(&v, k.nameField, &name)
	if err := v.Err(); err != nil {
		var zero T
		return zero, err
	}
	return store.Read(ctx, s.Store, func(r store.Reader) (T, error) { return k.load(s, r, nil, sc, name) })
}

// existing is a create's check, inside its transaction, that name is free.
// A record already called name is a conflict, or, with ensure, the answer:
// then it is stored in *rec and found is true.
func (k resource[T]) existing(s *Service, tx store.Tx, sc Scope, name string, ensure bool, rec *T) (found bool, err error) {
	got, err := k.load(s, tx, tx, sc, name)
	switch {
	case err == nil && ensure:
		*rec = got
		return true, nil
	case err == nil:
		return false, errorf(ErrConflict, "", "%s with name %s already exists.", k.kind, name)
	case !errors.Is(err, ErrNotFound):
		return false, err
	}
	return false, nil
}
