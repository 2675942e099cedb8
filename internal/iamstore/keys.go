package iamstore

import (
	"context"
	"encoding/base64"
	"errors"
	"io"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/store"
	"github.com/idcgate/idcgate/internal/validation"
)

func (s *Service) putKey(tx store.Tx, k AccessKey) error {
	sealed, err := s.Secrets.Seal(sealedSecret{AccessKeyID: k.AccessKeyID, Secret: k.Secret})
	if err != nil {
		return err
	}
	if err := store.PutJSON(tx, accessKeyKey(k.AccessKeyID), keyRecord{AccessKey: k, Sealed: sealed}); err != nil {
		return err
	}
	return tx.Put(userKeysPrefix(k.Account, k.UserName)+k.AccessKeyID, []byte("{}"))
}

// CreateAccessKey makes a new key pair for the user whose id is userID
// (at most MaxAccessKeys each). The answer holds the secret: the only time
// it is shown.
func (s *Service) CreateAccessKey(ctx context.Context, account, user, userID string) (AccessKey, error) {
	if err := checkEntityName("userName", user); err != nil {
		return AccessKey{}, err
	}
	id, err := NewID(s.rand(), "AKIA", 16)
	if err != nil {
		return AccessKey{}, err
	}
	var secret [30]byte
	if _, err := io.ReadFull(s.rand(), secret[:]); err != nil {
		return AccessKey{}, err
	}
	k := AccessKey{AccessKeyID: id, Account: account, Status: "Active", CreateDate: s.now(), Secret: encodeSecret(secret[:])}
	err = s.Store.Update(ctx, func(tx store.Tx) error {
		u, err := userEntity.authorized(tx, account, user, userID)
		if err != nil {
			return err
		}
		k.UserName = u.Name
		if n, err := count(tx, userKeysPrefix(account, user)); err != nil {
			return err
		} else if n >= MaxAccessKeys {
			return apierror.New(ErrLimitExceeded, "Cannot exceed quota for AccessKeysPerUser: %d", MaxAccessKeys)
		}
		return s.putKey(tx, k)
	})
	return k, err
}

// ListAccessKeys lists a user's keys (without secrets), by key id.
func (s *Service) ListAccessKeys(ctx context.Context, account, user string, page ListInput) ([]AccessKey, string, error) {
	return listOwned(ctx, s, owner{"user", account, user, ""}, "ListAccessKeys", userKeysPrefix(account, user), page,
		func(r store.Reader, id string) (AccessKey, error) {
			var rec keyRecord
			err := store.GetJSON(r, accessKeyKey(id), &rec)
			return rec.AccessKey, err
		})
}

// DeleteAccessKey deletes one of the user's keys.
func (s *Service) DeleteAccessKey(ctx context.Context, account, user, keyID string) error {
	var v validation.Collector
	checkName(&v, "userName", user, 64)
	if v.Required("accessKeyId", keyID != "") && v.Length("accessKeyId", keyID, 16, 128) {
		v.Pattern("accessKeyId", keyID, accessKeyIDRe, accessKeyIDPattern)
	}
	if err := v.Err(); err != nil {
		return err
	}
	return s.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := userEntity.get(tx, account, user); err != nil {
			return err
		}
		if _, err := tx.Get(userKeysPrefix(account, user) + keyID); errors.Is(err, store.ErrNotFound) {
			return apierror.New(ErrNoSuchEntity, "The Access Key with id %s cannot be found.", keyID)
		} else if err != nil {
			return err
		}
		if err := tx.Delete(userKeysPrefix(account, user) + keyID); err != nil {
			return err
		}
		return tx.Delete(accessKeyKey(keyID))
	})
}

// encodeSecret gives a secret access key its AWS form: 40 characters.
func encodeSecret(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
