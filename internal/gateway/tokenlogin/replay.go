package tokenlogin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/store"
)

// Replays remembers, in the store, the jti of every EXT_JWT that logged in
// until the JWT expires, so that every replica refuses its second use
// (BEHAVIOUR 10.13). Each record has two keys: one by the JWT's identity
// (a hash of its iss and jti, so no client text is in a key), looked up at
// each login, and one by its expiry, which keeps pruning in key order: a
// login deletes what has expired from the front of that index, at most
// pruneBatch records, so the work per login is bounded and the records
// never outlive their JWTs by more than a few logins.
type Replays struct {
	Store store.Store
	Clock clock.Clock
}

// ErrSeen: the JWT was used before and has not expired.
var ErrSeen = errors.New("jti already used")

const (
	replayPrefix = "gwjti/"
	seenPrefix   = replayPrefix + "id/"
	expiryPrefix = replayPrefix + "exp/"
	pruneBatch   = 64
)

type seenRecord struct {
	Until int64 `json:"until"`
}

// replayID names a JWT by its issuer and jti.
func replayID(iss, jti string) string {
	h := sha256.New()
	h.Write([]byte(iss))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	return hex.EncodeToString(h.Sum(nil))
}

func expiryKey(until int64, id string) string {
	return expiryPrefix + fmt.Sprintf("%012d", until) + "/" + id
}

// Claim records the use of the JWT of issuer iss with jti, valid until
// until (its exp with the verifier's leeway). A JWT already recorded and
// not yet past its until is ErrSeen, and nothing changes. One transaction,
// so two replicas claiming the same jti at once cannot both succeed.
func (r *Replays) Claim(ctx context.Context, iss, jti string, until time.Time) error {
	id := replayID(iss, jti)
	now := r.Clock.Now().Unix()
	u := until.Unix()
	return r.Store.Update(ctx, func(tx store.Tx) error {
		var old seenRecord
		switch err := store.GetJSON(tx, seenPrefix+id, &old); {
		case err == nil && old.Until >= now:
			return ErrSeen
		case err == nil:
			if err := tx.Delete(expiryKey(old.Until, id)); err != nil {
				return err
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := store.PutJSON(tx, seenPrefix+id, seenRecord{Until: u}); err != nil {
			return err
		}
		if err := tx.Put(expiryKey(u, id), nil); err != nil {
			return err
		}
		return prune(tx, now)
	})
}

// prune deletes up to pruneBatch records whose until has passed.
func prune(tx store.Tx, now int64) error {
	done, err := store.Keys(tx, expiryPrefix, pruneBatch, func(k string) bool {
		ts, _, _ := strings.Cut(strings.TrimPrefix(k, expiryPrefix), "/")
		until, err := strconv.ParseInt(ts, 10, 64)
		return err == nil && until < now
	})
	if err != nil {
		return err
	}
	for _, k := range done {
		_, id, _ := strings.Cut(strings.TrimPrefix(k, expiryPrefix), "/")
		if err := tx.Delete(k); err != nil {
			return err
		}
		if err := tx.Delete(seenPrefix + id); err != nil {
			return err
		}
	}
	return nil
}
