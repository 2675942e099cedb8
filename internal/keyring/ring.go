package keyring

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Version is one stored key version: the key wrapped by the manager's
// wrapping key, never in plain text.
type Version struct {
	Version   int       `json:"v"`
	Wrapped   []byte    `json:"w"`
	CreatedAt time.Time `json:"c"`
}

// Ring is a workgroup's keyring as stored, an immutable value (Vault's
// vault/keyring.go shape): the latest version seals, every version from
// MinDecrypt up opens. AddKey, SetMinimum and RetireSuperseded return a new
// Ring and never change the receiver, so a Ring can be cached and shared
// without locks. The Wrapped bytes of its versions are shared too: callers
// must not change them.
type Ring struct {
	latest     int
	minDecrypt int
	versions   []Version // ascending; never appended to or changed in place
}

// storedRing is a Ring's store format.
type storedRing struct {
	Latest     int       `json:"latest"`
	MinDecrypt int       `json:"minDecrypt"`
	Versions   []Version `json:"versions"`
}

// newRing is a ring holding only first, which seals and opens.
func newRing(first Version) Ring {
	return Ring{latest: first.Version, minDecrypt: first.Version, versions: []Version{first}}
}

// MarshalJSON writes the store format.
func (r Ring) MarshalJSON() ([]byte, error) {
	return json.Marshal(storedRing{Latest: r.latest, MinDecrypt: r.minDecrypt, Versions: r.versions})
}

// UnmarshalJSON reads the store format.
func (r *Ring) UnmarshalJSON(b []byte) error {
	var s storedRing
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*r = Ring{latest: s.Latest, minDecrypt: s.MinDecrypt, versions: s.Versions}
	return nil
}

// Latest is the version that seals.
func (r Ring) Latest() int { return r.latest }

// MinDecrypt is the oldest version that still opens.
func (r Ring) MinDecrypt() int { return r.minDecrypt }

// Versions returns the stored versions, oldest first (a copy of the list).
func (r Ring) Versions() []Version { return slices.Clone(r.versions) }

// Version returns version v: ErrRetired below MinDecrypt, ErrNoVersion when
// the ring does not hold it.
func (r Ring) Version(v int) (Version, error) {
	if v < r.minDecrypt {
		return Version{}, ErrRetired
	}
	for _, ver := range r.versions {
		if ver.Version == v {
			return ver, nil
		}
	}
	return Version{}, ErrNoVersion
}

// newest is the most recently added version.
func (r Ring) newest() Version { return r.versions[len(r.versions)-1] }

// AddKey returns the ring with v as its new latest version; v must be
// Latest+1 (ErrBadVersion otherwise).
func (r Ring) AddKey(v Version) (Ring, error) {
	if v.Version != r.latest+1 {
		return r, fmt.Errorf("%w: add version %d to versions %d..%d", ErrBadVersion, v.Version, r.minDecrypt, r.latest)
	}
	// A new backing array: the receiver's list may have spare capacity
	// another Ring appended into.
	versions := make([]Version, len(r.versions), len(r.versions)+1)
	copy(versions, r.versions)
	return Ring{latest: v.Version, minDecrypt: r.minDecrypt, versions: append(versions, v)}, nil
}

// SetMinimum returns the ring with versions below minDecrypt retired (they
// no longer open, and are dropped); ErrBadVersion below the current
// minimum or above the latest version.
func (r Ring) SetMinimum(minDecrypt int) (Ring, error) {
	if minDecrypt < r.minDecrypt || minDecrypt > r.latest {
		return r, fmt.Errorf("%w: retire below %d (versions %d..%d)", ErrBadVersion, minDecrypt, r.minDecrypt, r.latest)
	}
	return r.withMinimum(minDecrypt), nil
}

// RetireSuperseded returns the ring with each version retired once its
// successor has existed for retireAfter at now (by then no token sealed
// under it is still valid).
func (r Ring) RetireSuperseded(now time.Time, retireAfter time.Duration) Ring {
	minDecrypt := r.minDecrypt
	for i := 0; i+1 < len(r.versions); i++ {
		if now.Sub(r.versions[i+1].CreatedAt) >= retireAfter && r.versions[i].Version >= minDecrypt {
			minDecrypt = r.versions[i+1].Version
		}
	}
	return r.withMinimum(minDecrypt)
}

// withMinimum is the ring with minimum minDecrypt and only the versions
// from it up, in a new list.
func (r Ring) withMinimum(minDecrypt int) Ring {
	kept := make([]Version, 0, len(r.versions))
	for _, v := range r.versions {
		if v.Version >= minDecrypt {
			kept = append(kept, v)
		}
	}
	return Ring{latest: r.latest, minDecrypt: minDecrypt, versions: kept}
}
