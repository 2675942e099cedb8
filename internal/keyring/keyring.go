// Package keyring keeps a versioned AEAD key per workgroup (Vault's keyring
// design): every version is stored wrapped by a key derived from the master
// key, never in plain text; the latest version seals, every version from
// MinDecrypt up opens, and retiring raises MinDecrypt. Rotation adds
// latest+1 in one store transaction. Clock and randomness are injected.
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
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/idcgate/idcgate/internal/masterkey"
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

// Version is one stored key version.
type Version struct {
	Version   int       `json:"v"`
	Wrapped   []byte    `json:"w"`
	CreatedAt time.Time `json:"c"`
}

// Ring is a workgroup's keyring as stored.
type Ring struct {
	Latest     int       `json:"latest"`
	MinDecrypt int       `json:"minDecrypt"`
	Versions   []Version `json:"versions"`
}

// Info describes a ring without key material.
type Info struct {
	Latest, MinDecrypt int
	Created            map[int]time.Time
}

// Keyring manages the rings.
type Keyring struct {
	Store store.Store
	Now   func() time.Time
	Rand  io.Reader
	wrap  cipher.AEAD

	// CacheFor is how long an unwrapped ring is cached (by the injected
	// clock), so issuing and opening do not read and unwrap on every call;
	// another replica's rotation, retirement or destruction is seen within
	// that time. 0: no cache.
	CacheFor time.Duration

	// rings is an LRU of at most maxRings unwrapped rings, each with the
	// time it was read (its age is checked against CacheFor by k.Now, not
	// the wall clock). Its values are immutable: the ring, the key maps and
	// the AEADs are never changed once cached (cipher.AEAD has no
	// mutators), and Current and Key hand out copies of key bytes.
	ringsOnce sync.Once
	rings     *lru.Cache[ID, cachedRing]
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

func (k *Keyring) cache() *lru.Cache[ID, cachedRing] {
	k.ringsOnce.Do(func() {
		c, err := lru.New[ID, cachedRing](maxRings)
		if err != nil {
			panic(err) // only for a size <= 0
		}
		k.rings = c
	})
	return k.rings
}

type cachedRing struct {
	ring  *Ring
	keys  map[int][]byte
	aeads map[int]cipher.AEAD
	at    time.Time
}

// cached returns a fresh cached ring, if any.
func (k *Keyring) cached(id ID) (cachedRing, bool) {
	if k.CacheFor <= 0 {
		return cachedRing{}, false
	}
	c, ok := k.cache().Get(id)
	if !ok || k.Now().Sub(c.at) > k.CacheFor {
		return cachedRing{}, false
	}
	return c, true
}

func (k *Keyring) generation() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.gen
}

// remember unwraps ring and caches it unless a forget happened since gen
// (when it was read).
func (k *Keyring) remember(id ID, ring *Ring, gen uint64) (cachedRing, error) {
	c := cachedRing{ring: ring, keys: map[int][]byte{}, aeads: map[int]cipher.AEAD{}, at: k.Now()}
	for _, v := range ring.Versions {
		key, err := k.unwrap(id, v)
		if err != nil {
			return c, err
		}
		aead, err := newGCM(key)
		if err != nil {
			return c, err
		}
		c.keys[v.Version], c.aeads[v.Version] = key, aead
	}
	if k.CacheFor > 0 {
		k.mu.Lock()
		if k.gen == gen {
			k.cache().Add(id, c)
		}
		k.mu.Unlock()
	}
	return c, nil
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

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// New returns a Keyring whose wrapping key is derived from mk.
func New(st store.Store, mk *masterkey.Key, now func() time.Time, random io.Reader) (*Keyring, error) {
	aead, err := newGCM(mk.Derive(32, "workgroup-key-wrap"))
	if err != nil {
		return nil, err
	}
	if random == nil {
		random = rand.Reader
	}
	if now == nil {
		now = time.Now
	}
	return &Keyring{Store: st, Now: now, Rand: random, wrap: aead}, nil
}

// ID names a ring: the workgroup's account, region and id.
type ID struct{ Account, Region, WorkgroupID string }

func (id ID) key() string { return "keys/" + id.Account + "/" + id.Region + "/" + id.WorkgroupID }
func (id ID) aad(v int) []byte {
	return []byte(fmt.Sprintf("idcgate workgroup key\x00%s\x00%s\x00%s\x00%d", id.Account, id.Region, id.WorkgroupID, v))
}

func (k *Keyring) load(r store.Reader, id ID) (*Ring, error) {
	var ring Ring
	if err := store.GetJSON(r, id.key(), &ring); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNoKeyring
		}
		return nil, err
	}
	return &ring, nil
}

func (k *Keyring) newVersion(id ID, v int) (Version, error) {
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(k.Rand, key); err != nil {
		return Version{}, err
	}
	nonce := make([]byte, k.wrap.NonceSize())
	if _, err := io.ReadFull(k.Rand, nonce); err != nil {
		return Version{}, err
	}
	return Version{Version: v, Wrapped: k.wrap.Seal(nonce, nonce, key, id.aad(v)), CreatedAt: k.Now().UTC()}, nil
}

func (k *Keyring) unwrap(id ID, v Version) ([]byte, error) {
	n := k.wrap.NonceSize()
	if len(v.Wrapped) < n {
		return nil, errors.New("keyring: wrapped key too short")
	}
	key, err := k.wrap.Open(nil, v.Wrapped[:n], v.Wrapped[n:], id.aad(v.Version))
	if err != nil {
		return nil, fmt.Errorf("keyring: cannot unwrap %s v%d (wrong master key?)", id.WorkgroupID, v.Version)
	}
	return key, nil
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
	return store.PutJSON(tx, id.key(), &Ring{Latest: 1, MinDecrypt: 1, Versions: []Version{v}})
}

// Has reports whether the workgroup has a ring (read through r).
func (k *Keyring) Has(r store.Reader, id ID) (bool, error) {
	_, err := r.Get(id.key())
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ring returns the ring, from the cache when it is fresh.
func (k *Keyring) ring(ctx context.Context, id ID) (cachedRing, error) {
	if c, ok := k.cached(id); ok {
		return c, nil
	}
	gen := k.generation()
	var ring *Ring
	err := k.Store.View(ctx, func(r store.Reader) error {
		var err error
		ring, err = k.load(r, id)
		return err
	})
	if err != nil {
		return cachedRing{}, err
	}
	return k.remember(id, ring, gen)
}

// Current returns the latest version and a copy of its key; ErrNoKeyring
// when the workgroup has no ring (it was deleted).
func (k *Keyring) Current(ctx context.Context, id ID) (int, []byte, error) {
	c, err := k.ring(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	return c.ring.Latest, bytes.Clone(c.keys[c.ring.Latest]), nil
}

// CurrentAEAD is Current with the key as its AES-256-GCM, built once per
// cached ring (the standard library's GCM is safe for concurrent use).
func (k *Keyring) CurrentAEAD(ctx context.Context, id ID) (int, cipher.AEAD, error) {
	c, err := k.ring(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	return c.ring.Latest, c.aeads[c.ring.Latest], nil
}

// Key returns a copy of version v's key if it may still open tokens.
func (k *Keyring) Key(ctx context.Context, id ID, v int) ([]byte, error) {
	c, err := k.version(ctx, id, v)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(c.keys[v]), nil
}

// KeyAEAD is Key as an AES-256-GCM.
func (k *Keyring) KeyAEAD(ctx context.Context, id ID, v int) (cipher.AEAD, error) {
	c, err := k.version(ctx, id, v)
	if err != nil {
		return nil, err
	}
	return c.aeads[v], nil
}

// version returns a ring that has version v, re-reading a cached ring that
// does not (the version may be another replica's rotation).
func (k *Keyring) version(ctx context.Context, id ID, v int) (cachedRing, error) {
	if c, ok := k.cached(id); ok {
		if v < c.ring.MinDecrypt {
			return cachedRing{}, ErrRetired
		}
		if _, ok := c.keys[v]; ok {
			return c, nil
		}
	}
	gen := k.generation()
	var ring *Ring
	if err := k.Store.View(ctx, func(r store.Reader) error {
		var err error
		ring, err = k.load(r, id)
		return err
	}); err != nil {
		return cachedRing{}, err
	}
	if v < ring.MinDecrypt {
		return cachedRing{}, ErrRetired
	}
	c, err := k.remember(id, ring, gen)
	if err != nil {
		return cachedRing{}, err
	}
	if _, ok := c.keys[v]; !ok {
		return cachedRing{}, ErrNoVersion
	}
	return c, nil
}

// Rotate adds a new latest version and returns it; ErrNoKeyring when the
// workgroup has no ring.
func (k *Keyring) Rotate(ctx context.Context, id ID) (int, error) {
	defer k.forget(id)
	var latest int
	err := k.Store.Update(ctx, func(tx store.Tx) error {
		ring, err := k.load(tx, id)
		if err != nil {
			return err
		}
		v, err := k.newVersion(id, ring.Latest+1)
		if err != nil {
			return err
		}
		ring.Latest = v.Version
		ring.Versions = append(ring.Versions, v)
		latest = ring.Latest
		return store.PutJSON(tx, id.key(), ring)
	})
	return latest, err
}

// Retire makes versions below minDecrypt unusable, and deletes them.
func (k *Keyring) Retire(ctx context.Context, id ID, minDecrypt int) error {
	defer k.forget(id)
	return k.Store.Update(ctx, func(tx store.Tx) error {
		ring, err := k.load(tx, id)
		if err != nil {
			return err
		}
		if minDecrypt < ring.MinDecrypt || minDecrypt > ring.Latest {
			return fmt.Errorf("%w: retire below %d (versions %d..%d)", ErrBadVersion, minDecrypt, ring.MinDecrypt, ring.Latest)
		}
		ring.MinDecrypt = minDecrypt
		kept := ring.Versions[:0]
		for _, v := range ring.Versions {
			if v.Version >= minDecrypt {
				kept = append(kept, v)
			}
		}
		ring.Versions = kept
		return store.PutJSON(tx, id.key(), ring)
	})
}

// Destroy deletes a workgroup's ring inside tx (its tokens become unopenable).
func Destroy(tx store.Tx, id ID) error { return tx.Delete(id.key()) }

// Describe returns versions and dates, no key material.
func (k *Keyring) Describe(ctx context.Context, id ID) (Info, error) {
	var ring *Ring
	err := k.Store.View(ctx, func(r store.Reader) error {
		var err error
		ring, err = k.load(r, id)
		return err
	})
	if err != nil {
		return Info{}, err
	}
	info := Info{Latest: ring.Latest, MinDecrypt: ring.MinDecrypt, Created: map[int]time.Time{}}
	for _, v := range ring.Versions {
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
		var id ID
		parts := strings.SplitN(strings.TrimPrefix(key, "keys/"), "/", 3)
		if len(parts) != 3 {
			continue
		}
		id = ID{Account: parts[0], Region: parts[1], WorkgroupID: parts[2]}
		did := false
		err := k.Store.Update(ctx, func(tx store.Tx) error {
			did = false
			ring, err := k.load(tx, id)
			if errors.Is(err, ErrNoKeyring) {
				return nil
			}
			if err != nil {
				return err
			}
			now := k.Now()
			latest := ring.Versions[len(ring.Versions)-1]
			if now.Sub(latest.CreatedAt) >= maxAge {
				v, err := k.newVersion(id, ring.Latest+1)
				if err != nil {
					return err
				}
				ring.Latest = v.Version
				ring.Versions = append(ring.Versions, v)
				did = true
			}
			for i := 0; i+1 < len(ring.Versions); i++ {
				if now.Sub(ring.Versions[i+1].CreatedAt) >= retireAfter && ring.Versions[i].Version >= ring.MinDecrypt {
					ring.MinDecrypt = ring.Versions[i+1].Version
				}
			}
			kept := ring.Versions[:0]
			for _, v := range ring.Versions {
				if v.Version >= ring.MinDecrypt {
					kept = append(kept, v)
				}
			}
			ring.Versions = kept
			return store.PutJSON(tx, id.key(), ring)
		})
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
