// Package keyring keeps a versioned AEAD key per workgroup (Vault's keyring
// design): every version is stored wrapped by a key derived from the master
// key, never in plain text; the latest version seals, every version from
// MinDecrypt up opens, and retiring raises MinDecrypt. Rotation adds
// latest+1 in one store transaction. Clock and randomness are injected.
//
// As in Vault's vault/keyring.go, a Ring is an immutable value (ring.go):
// its changes return a new Ring. The Keyring is the thin manager around it:
// it loads and saves Rings in the store, wraps and unwraps their keys, and
// caches the unwrapped ones.
//
// A ring is created with its workgroup (Create, inside the workgroup's
// creating transaction) and destroyed with it (Destroy, inside the
// deleting one); nothing else creates one, so a destroyed ring never comes
// back: Current, Key, Rotate, Retire and Describe of a missing ring are
// ErrNoKeyring.
package keyring

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/seal"
	"github.com/idcgate/idcgate/internal/store"
)

// KeySize is the size of a workgroup key (AES-256).
const KeySize = 32

// Sentinels.
var (
	ErrNoKeyring  = errors.New("keyring: no keys for this workgroup")
	ErrRetired    = errors.New("keyring: key version retired")
	ErrNoVersion  = errors.New("keyring: no such key version")
	ErrBadVersion = errors.New("keyring: version out of range")
)

// Info describes a ring without key material.
type Info struct {
	Latest, MinDecrypt int
	Created            map[int]time.Time
}

// Keyring manages the rings: it keeps them in the store, wraps and
// unwraps their keys, and caches the unwrapped ones.
type Keyring struct {
	Store store.Store
	Clock clock.Clock
	Rand  io.Reader
	wrap  cipher.AEAD

	// CacheFor is how long an unwrapped ring is cached (by Clock), so
	// issuing and opening do not read and unwrap on every call; another
	// replica's rotation, retirement or destruction is seen within that
	// time. 0: no cache.
	CacheFor time.Duration

	// rings is an LRU of at most maxRings opened rings, each with the time
	// it was read (its age is checked against CacheFor by Clock, not the
	// wall clock). Its values are immutable: the Ring, the key maps and the
	// AEADs are never changed once cached (cipher.AEAD has no mutators),
	// and Current and Key hand out copies of key bytes.
	ringsOnce sync.Once
	rings     *lru.Cache[ID, openRing]
	// mu orders a put against forgets. gen counts forgets: a ring read
	// before a forget is not cached after it, so a reader racing a change
	// cannot put the old ring back.
	mu  sync.Mutex
	gen uint64
}

// maxRings bounds the ring cache: rings of more workgroups than this used
// within CacheFor are read again (the cache had no bound before it was an
// LRU; a ring is cached only while its workgroup exists).
const maxRings = 4096

// New returns a Keyring whose wrapping key is derived from mk; the zero
// Clock is the wall clock, a nil random crypto/rand.
func New(st store.Store, mk *masterkey.Key, c clock.Clock, random io.Reader) (*Keyring, error) {
	aead, err := seal.NewGCM(mk.Derive(32, "workgroup-key-wrap"))
	if err != nil {
		return nil, err
	}
	if random == nil {
		random = rand.Reader
	}
	return &Keyring{Store: st, Clock: c, Rand: random, wrap: aead}, nil
}

// ID names a ring: the workgroup's account, region and id.
type ID struct{ Account, Region, WorkgroupID string }

func (id ID) key() string { return "keys/" + id.Account + "/" + id.Region + "/" + id.WorkgroupID }
func (id ID) aad(v int) []byte {
	return []byte(fmt.Sprintf("idcgate workgroup key\x00%s\x00%s\x00%s\x00%d", id.Account, id.Region, id.WorkgroupID, v))
}

// Storage: a Ring is read and written in a caller's store transaction.

func (k *Keyring) load(r store.Reader, id ID) (Ring, error) {
	var ring Ring
	if err := store.GetJSON(r, id.key(), &ring); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Ring{}, ErrNoKeyring
		}
		return Ring{}, err
	}
	return ring, nil
}

func (k *Keyring) save(tx store.Tx, id ID, ring Ring) error {
	return store.PutJSON(tx, id.key(), ring)
}

// view loads a ring in a read transaction of its own.
func (k *Keyring) view(ctx context.Context, id ID) (Ring, error) {
	return store.Read(ctx, k.Store, func(r store.Reader) (Ring, error) { return k.load(r, id) })
}

// update loads a ring, changes it and saves the result in one transaction.
func (k *Keyring) update(ctx context.Context, id ID, change func(Ring) (Ring, error)) error {
	return k.Store.Update(ctx, func(tx store.Tx) error {
		ring, err := k.load(tx, id)
		if err != nil {
			return err
		}
		next, err := change(ring)
		if err != nil {
			return err
		}
		return k.save(tx, id, next)
	})
}

// Wrapping: a version's key never leaves the manager unwrapped but to a
// caller asking for it.

// newVersion makes version v: a new random key, wrapped.
func (k *Keyring) newVersion(id ID, v int) (Version, error) {
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(k.Rand, key); err != nil {
		return Version{}, err
	}
	wrapped, err := seal.AppendSealed(nil, k.wrap, k.Rand, key, id.aad(v))
	if err != nil {
		return Version{}, err
	}
	return Version{Version: v, Wrapped: wrapped, CreatedAt: k.Clock.Now().UTC()}, nil
}

func (k *Keyring) unwrap(id ID, v Version) ([]byte, error) {
	if len(v.Wrapped) < k.wrap.NonceSize() {
		return nil, errors.New("keyring: wrapped key too short")
	}
	key, err := seal.OpenSealed(k.wrap, v.Wrapped, id.aad(v.Version))
	if err != nil {
		return nil, fmt.Errorf("keyring: cannot unwrap %s v%d (wrong master key?)", id.WorkgroupID, v.Version)
	}
	return key, nil
}

// openRing is a Ring with every version unwrapped, as cached.
type openRing struct {
	ring  Ring
	keys  map[int][]byte
	aeads map[int]cipher.AEAD
	at    time.Time
}

// open unwraps every version of ring.
func (k *Keyring) open(id ID, ring Ring) (openRing, error) {
	o := openRing{ring: ring, keys: map[int][]byte{}, aeads: map[int]cipher.AEAD{}, at: k.Clock.Now()}
	for _, v := range ring.versions {
		key, err := k.unwrap(id, v)
		if err != nil {
			return o, err
		}
		aead, err := seal.NewGCM(key)
		if err != nil {
			return o, err
		}
		o.keys[v.Version], o.aeads[v.Version] = key, aead
	}
	return o, nil
}

// The cache of opened rings.

func (k *Keyring) cache() *lru.Cache[ID, openRing] {
	k.ringsOnce.Do(func() {
		c, err := lru.New[ID, openRing](maxRings)
		if err != nil {
			panic(err) // only for a size <= 0
		}
		k.rings = c
	})
	return k.rings
}

// cached returns a fresh cached ring, if any.
func (k *Keyring) cached(id ID) (openRing, bool) {
	if k.CacheFor <= 0 {
		return openRing{}, false
	}
	o, ok := k.cache().Get(id)
	if !ok || k.Clock.Now().Sub(o.at) > k.CacheFor {
		return openRing{}, false
	}
	return o, true
}

func (k *Keyring) generation() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.gen
}

// remember opens ring and caches it unless a forget happened since gen
// (when it was read).
func (k *Keyring) remember(id ID, ring Ring, gen uint64) (openRing, error) {
	o, err := k.open(id, ring)
	if err != nil {
		return o, err
	}
	if k.CacheFor > 0 {
		k.mu.Lock()
		if k.gen == gen {
			k.cache().Add(id, o)
		}
		k.mu.Unlock()
	}
	return o, nil
}

// Forget drops a ring from the cache. Call it after a change made
// elsewhere has committed, such as the workgroup's deletion: called
// before the commit, a concurrent reader could cache the old ring again.
func (k *Keyring) Forget(id ID) { k.forget(id) }

// forget drops a ring from the cache after a local change.
func (k *Keyring) forget(id ID) {
	k.mu.Lock()
	k.cache().Remove(id)
	k.gen++
	k.mu.Unlock()
}

// Create makes version 1 of a new workgroup's ring inside tx, the
// transaction that creates the workgroup (or, for workgroups made before
// rings were created with them, one that re-read the workgroup and found
// it alive). A ring that exists is left as it is.
func (k *Keyring) Create(tx store.Tx, id ID) error {
	_, err := k.load(tx, id)
	if !errors.Is(err, ErrNoKeyring) {
		return err
	}
	v, err := k.newVersion(id, 1)
	if err != nil {
		return err
	}
	return k.save(tx, id, newRing(v))
}

// Has reports whether the workgroup has a ring (read through r).
func (k *Keyring) Has(r store.Reader, id ID) (bool, error) {
	_, err := r.Get(id.key())
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ring returns the opened ring, from the cache when it is fresh.
func (k *Keyring) ring(ctx context.Context, id ID) (openRing, error) {
	if o, ok := k.cached(id); ok {
		return o, nil
	}
	gen := k.generation()
	ring, err := k.view(ctx, id)
	if err != nil {
		return openRing{}, err
	}
	return k.remember(id, ring, gen)
}

// Current returns the latest version and a copy of its key; ErrNoKeyring
// when the workgroup has no ring (it was deleted).
func (k *Keyring) Current(ctx context.Context, id ID) (int, []byte, error) {
	o, err := k.ring(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	latest := o.ring.Latest()
	return latest, bytes.Clone(o.keys[latest]), nil
}

// CurrentAEAD is Current with the key as its AES-256-GCM, built once per
// cached ring (the standard library's GCM is safe for concurrent use).
func (k *Keyring) CurrentAEAD(ctx context.Context, id ID) (int, cipher.AEAD, error) {
	o, err := k.ring(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	latest := o.ring.Latest()
	return latest, o.aeads[latest], nil
}

// Key returns a copy of version v's key if it may still open tokens.
func (k *Keyring) Key(ctx context.Context, id ID, v int) ([]byte, error) {
	o, err := k.version(ctx, id, v)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(o.keys[v]), nil
}

// KeyAEAD is Key as an AES-256-GCM.
func (k *Keyring) KeyAEAD(ctx context.Context, id ID, v int) (cipher.AEAD, error) {
	o, err := k.version(ctx, id, v)
	if err != nil {
		return nil, err
	}
	return o.aeads[v], nil
}

// version returns an opened ring that has version v, re-reading a cached
// ring that does not (the version may be another replica's rotation).
func (k *Keyring) version(ctx context.Context, id ID, v int) (openRing, error) {
	if o, ok := k.cached(id); ok {
		_, err := o.ring.Version(v)
		if errors.Is(err, ErrRetired) {
			return openRing{}, err
		}
		if err == nil {
			return o, nil
		}
	}
	gen := k.generation()
	ring, err := k.view(ctx, id)
	if err != nil {
		return openRing{}, err
	}
	if _, err := ring.Version(v); errors.Is(err, ErrRetired) {
		return openRing{}, err
	}
	o, err := k.remember(id, ring, gen)
	if err != nil {
		return openRing{}, err
	}
	if _, err := o.ring.Version(v); err != nil {
		return openRing{}, err
	}
	return o, nil
}

// Rotate adds a new latest version and returns it; ErrNoKeyring when the
// workgroup has no ring.
func (k *Keyring) Rotate(ctx context.Context, id ID) (int, error) {
	defer k.forget(id)
	var latest int
	err := k.update(ctx, id, func(ring Ring) (Ring, error) {
		v, err := k.newVersion(id, ring.Latest()+1)
		if err != nil {
			return ring, err
		}
		next, err := ring.AddKey(v)
		latest = next.Latest()
		return next, err
	})
	return latest, err
}

// Retire makes versions below minDecrypt unusable, and deletes them.
func (k *Keyring) Retire(ctx context.Context, id ID, minDecrypt int) error {
	defer k.forget(id)
	return k.update(ctx, id, func(ring Ring) (Ring, error) { return ring.SetMinimum(minDecrypt) })
}

// Destroy deletes a workgroup's ring inside tx (its tokens become unopenable).
func Destroy(tx store.Tx, id ID) error { return tx.Delete(id.key()) }

// Describe returns versions and dates, no key material.
func (k *Keyring) Describe(ctx context.Context, id ID) (Info, error) {
	ring, err := k.view(ctx, id)
	if err != nil {
		return Info{}, err
	}
	info := Info{Latest: ring.Latest(), MinDecrypt: ring.MinDecrypt(), Created: map[int]time.Time{}}
	for _, v := range ring.versions {
		info.Created[v.Version] = v.CreatedAt
	}
	return info, nil
}

// RotateDue rotates every ring whose latest version is at least maxAge old,
// and retires each version once its successor has existed for retireAfter
// (by then no token sealed under it is still valid). It returns how many
// rings it rotated. Safe to run on every replica: each ring changes in one
// transaction that re-checks the ages.
func (k *Keyring) RotateDue(ctx context.Context, maxAge, retireAfter time.Duration) (int, error) {
	var keys []string
	err := k.Store.View(ctx, func(r store.Reader) error {
		return r.Scan("keys/", "", func(key string, _ []byte) (bool, error) {
			keys = append(keys, key)
			return true, nil
		})
	})
	if err != nil {
		return 0, err
	}
	rotated := 0
	for _, key := range keys {
		parts := strings.SplitN(strings.TrimPrefix(key, "keys/"), "/", 3)
		if len(parts) != 3 {
			continue
		}
		id := ID{Account: parts[0], Region: parts[1], WorkgroupID: parts[2]}
		did := false
		err := k.update(ctx, id, func(ring Ring) (Ring, error) {
			did = false
			now := k.Clock.Now()
			if now.Sub(ring.newest().CreatedAt) >= maxAge {
				v, err := k.newVersion(id, ring.Latest()+1)
				if err != nil {
					return ring, err
				}
				if ring, err = ring.AddKey(v); err != nil {
					return ring, err
				}
				did = true
			}
			return ring.RetireSuperseded(now, retireAfter), nil
		})
		if errors.Is(err, ErrNoKeyring) {
			err = nil // destroyed since the scan
		}
		if err != nil {
			return rotated, err
		}
		k.forget(id)
		if did {
			rotated++
		}
	}
	return rotated, nil
}
