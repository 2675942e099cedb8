// Package passwords keeps the sign-in passwords of the identity store's
// users (BEHAVIOUR 18.6): an argon2id hash per user, kept in the store
// beside the user (identitystore.PasswordKey), so deleting the user deletes
// it; never the password itself. Check answers a wrong password and an
// unknown user alike, in the same time, and slows repeated failures.
package passwords

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/identitystore"
	"github.com/idcgate/idcgate/internal/passwords/phc"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

// Sentinels. Neither reaches an AWS API: the sign-in pages show them.
var (
	// ErrWrongPassword: the user name or the password is wrong (which one
	// is never said).
	ErrWrongPassword = errors.New("passwords: wrong user name or password")
	// ErrSlowedDown: too many recent failures for the user name or the
	// source address; the Error's RetryAfter says how long to wait.
	ErrSlowedDown = errors.New("passwords: too many failed attempts")
)

// SlowedDown is the error of an attempt refused by the slow-down rule.
type SlowedDown struct{ RetryAfter time.Duration }

func (e *SlowedDown) Error() string {
	return "passwords: too many failed attempts; retry after " + e.RetryAfter.String()
}

// Is makes errors.Is(err, ErrSlowedDown) hold.
func (e *SlowedDown) Is(target error) bool { return target == ErrSlowedDown }

// record is what the store keeps for one user.
type record struct {
	// Hash is the password's argon2id PHC string.
	Hash string `json:"hash"`
	// Config is the hash of the config's password as last applied ("" when
	// the config gives none): a start re-applies the config only when its
	// password changed, so set-password's survives restarts.
	Config    string    `json:"config,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// User is who signed in.
type User struct {
	ID, Name string
}

// Service checks and sets passwords. The zero value of the optional fields
// is production's: DefaultParams, the wall clock, crypto/rand.
type Service struct {
	Store     store.Store
	Directory *identitystore.Service
	Clock     clock.Clock
	Rand      io.Reader
	Params    phc.Params // zero: phc.DefaultParams

	initOnce  sync.Once
	dummyOnce sync.Once
	dummy     phc.PHC // hashed at the first check that needs it: unknown users are checked against it
	byName    *failureTable
	byIP      *failureTable
	// hashes counts Check's argon2id runs, so a test can hold that every
	// answer cost one.
	hashes atomic.Int64
}

func (s *Service) init() {
	s.initOnce.Do(func() {
		if s.Params == (phc.Params{}) {
			s.Params = phc.DefaultParams
		}
		if s.Rand == nil {
			s.Rand = rand.Reader
		}
		s.byName = newFailureTable(UserSlowDown)
		s.byIP = newFailureTable(IPSlowDown)
	})
}

// dummyHash is the hash an unknown user's password is checked against,
// made on first use rather than at start: a start hashes nothing it may
// never need.
func (s *Service) dummyHash() phc.PHC {
	s.dummyOnce.Do(func() {
		d, err := phc.Hash("idcgate: no such user", s.Params, rand.Reader)
		if err != nil {
			panic(fmt.Sprintf("passwords: hashing the dummy: %v", err)) // crypto/rand never fails
		}
		s.dummy = d
	})
	return s.dummy
}

// nameKey is the slow-down key of a user name: compared as the directory
// compares names (ASCII case ignored), bounded in length.
func nameKey(name string) string {
	if len(name) > 128 {
		name = name[:128]
	}
	return config.DirectoryKey(name)
}

// Check signs userName in with password from sourceIP. A wrong password,
// an unknown user and a user without a password all give ErrWrongPassword
// after the same work (one argon2id hash at the service's parameters); an
// attempt the slow-down rule refuses gives a *SlowedDown without checking
// anything. With ErrWrongPassword the User names the directory user the
// name matched (ID, and the name as typed), for the audit record only.
func (s *Service) Check(ctx context.Context, userName, password, sourceIP string) (User, error) {
	s.init()
	now := s.Clock.Now()
	nk := nameKey(userName)
	if wait := max(s.byName.wait(nk, now), s.byIP.wait(sourceIP, now)); wait > 0 {
		return User{}, &SlowedDown{RetryAfter: wait}
	}
	id, rec, err := s.lookup(ctx, userName)
	if err != nil {
		return User{}, err
	}
	var h phc.PHC
	if rec != nil {
		if h, err = phc.Parse(rec.Hash); err != nil {
			return User{}, fmt.Errorf("passwords: stored hash of user %s: %w", id, err)
		}
	} else {
		h = s.dummyHash()
	}
	s.hashes.Add(1)
	if ok := h.Verify(password); !ok || rec == nil {
		now = s.Clock.Now()
		s.byName.fail(nk, now)
		s.byIP.fail(sourceIP, now)
		// For the audit record only (the pages show no difference): who
		// the name named, as typed (no further read, so no timing tell).
		var who User
		if id != "" {
			who = User{ID: id, Name: userName}
		}
		return who, ErrWrongPassword
	}
	s.byName.forget(nk)
	u, err := s.Directory.DescribeUser(ctx, id)
	if errors.Is(err, identitystore.ErrNotFound) {
		// Deleted meanwhile: its password went with it.
		return User{}, ErrWrongPassword
	}
	if err != nil {
		return User{}, err
	}
	return User{ID: u.UserID, Name: u.UserName}, nil
}

// lookup finds the user named userName and its record (nil for an unknown
// user or a user without a password).
func (s *Service) lookup(ctx context.Context, userName string) (string, *record, error) {
	if userName == "" || len(userName) > 128 {
		return "", nil, nil
	}
	id, err := s.Directory.UserIDByName(ctx, userName)
	if errors.Is(err, identitystore.ErrNotFound) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	rec, err := store.ViewJSON[record](ctx, s.Store, s.Directory.PasswordKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return id, nil, nil
	}
	if err != nil {
		return id, nil, err
	}
	return id, &rec, nil
}

// ValidatePassword holds a new password to the length rule. The message
// never shows the value, as AWS shows no sensitive member's.
func ValidatePassword(path, password string) error {
	if len(password) < config.MinPasswordLength || len(password) > config.MaxPasswordLength {
		return validation.Newf("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length between %s and %s bytes",
			path, strconv.Itoa(config.MinPasswordLength), strconv.Itoa(config.MaxPasswordLength))
	}
	return nil
}

// Set sets the password of the user named userName (the administrator's
// set-password). An unknown user is ResourceNotFoundException (USER),
// as the Identity Store answers.
func (s *Service) Set(ctx context.Context, userName, password string) (User, error) {
	s.init()
	if err := ValidatePassword("password", password); err != nil {
		return User{}, err
	}
	id, err := s.Directory.UserIDByName(ctx, userName)
	if err != nil {
		return User{}, err
	}
	h, err := phc.Hash(password, s.Params, s.Rand)
	if err != nil {
		return User{}, err
	}
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		ok, err := s.Directory.HasUser(tx, id)
		if err != nil {
			return err
		}
		if !ok {
			return &apierror.Error{Kind: identitystore.ErrNotFound, Message: identitystore.TypeUser + " not found.",
				Members: map[string]string{"ResourceType": identitystore.TypeUser, "ResourceId": id}}
		}
		var cur record
		if err := store.GetJSON(tx, s.Directory.PasswordKey(id), &cur); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return store.PutJSON(tx, s.Directory.PasswordKey(id), record{Hash: h.String(), Config: cur.Config, UpdatedAt: s.Clock.Now().UTC()})
	})
	if err != nil {
		return User{}, err
	}
	// A new password lifts the user name's slow-down.
	s.byName.forget(nameKey(userName))
	name := userName
	if u, err := s.Directory.DescribeUser(ctx, id); err == nil {
		name = u.UserName // as the directory spells it
	}
	return User{ID: id, Name: name}, nil
}

// ApplyConfig gives the config's users their configured passwords
// (BEHAVIOUR 18.6): a user's config password is written when it differs
// from the one last applied (so a set-password survives restarts until
// the config's changes); a config password no longer given is removed
// unless set-password replaced it since. Users without any record in the
// config are not touched.
func (s *Service) ApplyConfig(ctx context.Context, users []config.DirectoryUser) error {
	s.init()
	for _, u := range users {
		id, err := s.Directory.UserIDByName(ctx, u.UserName)
		if err != nil {
			return fmt.Errorf("user %s: %w", u.UserName, err)
		}
		key := s.Directory.PasswordKey(id)
		found := true
		cur, err := store.ViewJSON[record](ctx, s.Store, key)
		if errors.Is(err, store.ErrNotFound) {
			found = false
		} else if err != nil {
			return err
		}
		want, err := s.configHash(u, cur.Config)
		if err != nil {
			return fmt.Errorf("user %s: %w", u.UserName, err)
		}
		switch {
		case want == "" && !found:
			continue
		case want == "" && cur.Config == "":
			continue // set by set-password only
		case want == "" && cur.Hash != cur.Config:
			// The config's password is gone, but set-password's stays.
			cur.Config = ""
		case want == "":
			if err := s.Store.Update(ctx, func(tx store.Tx) error { return tx.Delete(key) }); err != nil {
				return err
			}
			continue
		case want == cur.Config:
			continue // unchanged since last applied
		default:
			cur = record{Hash: want, Config: want}
		}
		cur.UpdatedAt = s.Clock.Now().UTC()
		if err := s.Store.Update(ctx, func(tx store.Tx) error { return store.PutJSON(tx, key, cur) }); err != nil {
			return err
		}
	}
	return nil
}

// configHash is the hash standing for u's config password: its
// passwordHash as given; for a plain password, applied (the hash last
// applied) when it still verifies, else a fresh hash.
func (s *Service) configHash(u config.DirectoryUser, applied string) (string, error) {
	switch {
	case u.PasswordHash != "":
		h, err := phc.Parse(u.PasswordHash)
		if err != nil {
			return "", err
		}
		return h.String(), nil
	case u.Password == "":
		return "", nil
	}
	if applied != "" {
		if h, err := phc.Parse(applied); err == nil && h.Verify(u.Password) {
			return applied, nil
		}
	}
	h, err := phc.Hash(u.Password, s.Params, s.Rand)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}
