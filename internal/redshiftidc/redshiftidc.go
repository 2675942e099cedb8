// Package redshiftidc keeps Redshift IdC applications: the link between
// Redshift and an Identity Center instance, which gives Identity Center users
// their database identity namespace ("AWSIDC:alice").
package redshiftidc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"time"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/ids"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// ErrNotFound is returned for an unknown application.
var ErrNotFound = errors.New("redshift idc application not found")

// ErrExists is returned when the name is taken.
var ErrExists = errors.New("redshift idc application already exists")

// Application is a Redshift IdC application.
type Application struct {
	Arn               string    `json:"arn"`
	Name              string    `json:"name"`
	IdentityNamespace string    `json:"identityNamespace"`
	IdcInstanceArn    string    `json:"idcInstanceArn"`
	IamRoleArn        string    `json:"iamRoleArn"`
	DisplayName       string    `json:"displayName,omitempty"`
	CreatedAt         time.Time `json:"createdAt"`
}

// Service stores applications per account and region.
type Service struct {
	Store store.Store
	// Versions, when set, is Store's version source (the embedded store
	// underneath its wrappers): List then keeps lists while nothing under
	// "redshift/" changed. Nil for a store that cannot vouch for its reads
	// (a shared one): every call reads.
	Versions store.Versioned
	Rand     io.Reader
	Clock    clock.Clock

	// decoded spares List (on every GetIdentityCenterAuthToken) the JSON
	// decoding of records that have not changed. An Application holds no
	// slice, map or pointer, so the copy List returns shares nothing.
	decoded store.Decoded[Application]
	// lists spares it the read itself while Versions vouches that nothing
	// under "redshift/" changed. Kept lists are immutable: List returns a
	// copy.
	lists store.Kept[serverless.Scope, []Application]
}

// segment is the first key segment of every application record.
const segment = "redshift"

func prefix(s serverless.Scope) string {
	return segment + "/" + s.Account + "/" + s.Region + "/idc-application/"
}

// Ensure creates app (by name) if it does not exist and returns the stored one.
func (s *Service) Ensure(ctx context.Context, scope serverless.Scope, app Application) (Application, error) {
	var out Application
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		key := prefix(scope) + app.Name
		if err := store.GetJSON(tx, key, &out); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		id, err := ids.UUID(s.rand())
		if err != nil {
			return err
		}
		app.Arn = fmt.Sprintf("arn:aws:redshift:%s:%s:redshiftidcapplication:%s", scope.Region, scope.Account, id)
		app.CreatedAt = s.Clock.Now().UTC().Truncate(time.Second)
		out = app
		return store.PutJSON(tx, key, app)
	})
	return out, err
}

// List returns the scope's applications in name order, in a slice of the
// caller's own.
func (s *Service) List(ctx context.Context, scope serverless.Scope) ([]Application, error) {
	// The version is read before the transaction, so a kept list is never
	// older than the version it is kept under.
	versioned := s.Versions != nil
	var version uint64
	if versioned {
		version = s.Versions.Version(segment)
		if apps, ok := s.lists.Get(scope, version); ok {
			return slices.Clone(apps), nil
		}
	}
	var out []Application
	err := s.Store.View(ctx, func(r store.Reader) error {
		return r.Scan(prefix(scope), "", func(k string, v []byte) (bool, error) {
			a, err := s.decoded.Decode(k, v)
			if err != nil {
				return false, err
			}
			out = append(out, a)
			return true, nil
		})
	})
	if err == nil && versioned {
		s.lists.Put(scope, version, out)
		return slices.Clone(out), nil
	}
	return out, err
}

// ByArn finds an application of the scope by ARN.
func (s *Service) ByArn(ctx context.Context, scope serverless.Scope, arn string) (Application, error) {
	apps, err := s.List(ctx, scope)
	if err != nil {
		return Application{}, err
	}
	for _, a := range apps {
		if a.Arn == arn {
			return a, nil
		}
	}
	return Application{}, ErrNotFound
}

// LookupIdcApplication implements serverless.IdcApplicationResolver.
func (s *Service) LookupIdcApplication(ctx context.Context, scope serverless.Scope, arn string) error {
	_, err := s.ByArn(ctx, scope, arn)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %s", serverless.ErrIdcApplicationNotFound, arn)
	}
	return err
}

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// The Redshift API model's constraints on CreateRedshiftIdcApplication.
const (
	namePattern              = `^[a-z][a-z0-9]*(-[a-z0-9]+)*$`
	displayNamePattern       = `[\w+=,.@-]+`
	identityNamespacePattern = `^[a-zA-Z0-9_+.#@$-]+$`
)

var (
	nameRe              = regexp.MustCompile(namePattern)
	displayNameRe       = regexp.MustCompile(`^` + displayNamePattern + `$`)
	identityNamespaceRe = regexp.MustCompile(identityNamespacePattern)
)

// Validate holds an application's fields to the Redshift API model (name
// 1-63, display name 1-127 of [\w+=,.@-], identity namespace 1-127), so
// nothing stored and shown by Describe, or used to name database roles
// ("AWSIDC:alice"), carries control characters or invalid UTF-8.
func Validate(app Application) error {
	var v validation.Collector
	if v.Required("redshiftIdcApplicationName", app.Name != "") {
		v.LengthAndPattern("redshiftIdcApplicationName", app.Name, 1, 63, nameRe, namePattern)
	}
	v.Required("idcInstanceArn", app.IdcInstanceArn != "")
	if v.Required("idcDisplayName", app.DisplayName != "") {
		v.LengthAndPattern("idcDisplayName", app.DisplayName, 1, 127, displayNameRe, displayNamePattern)
	}
	v.Required("iamRoleArn", app.IamRoleArn != "")
	v.LengthAndPattern("identityNamespace", app.IdentityNamespace, 1, 127, identityNamespaceRe, identityNamespacePattern)
	return v.Err()
}

// Create adds an application; the name must be new in the scope.
func (s *Service) Create(ctx context.Context, scope serverless.Scope, app Application) (Application, error) {
	if err := Validate(app); err != nil {
		return Application{}, err
	}
	id, err := ids.UUID(s.rand())
	if err != nil {
		return Application{}, err
	}
	app.Arn = fmt.Sprintf("arn:aws:redshift:%s:%s:redshiftidcapplication:%s", scope.Region, scope.Account, id)
	app.CreatedAt = s.Clock.Now().UTC().Truncate(time.Second)
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		key := prefix(scope) + app.Name
		if _, err := tx.Get(key); err == nil {
			return fmt.Errorf("%w: %s", ErrExists, app.Name)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return store.PutJSON(tx, key, app)
	})
	return app, err
}

// Delete removes the application with this ARN.
func (s *Service) Delete(ctx context.Context, scope serverless.Scope, arn string) error {
	app, err := s.ByArn(ctx, scope, arn)
	if err != nil {
		return err
	}
	return s.Store.Update(ctx, func(tx store.Tx) error { return tx.Delete(prefix(scope) + app.Name) })
}
