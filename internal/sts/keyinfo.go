package sts

import (
	"context"
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"

	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/validation"
)

// An AWS access key id is a four-letter prefix and 16 characters of base32
// (80 bits). Of the first 48 bits, the 40 above the lowest 7 hold the
// account id; the rest is random. Reading it back is how GetAccessKeyInfo
// names the account of any key id, even one this deployment never made,
// as AWS does (BEHAVIOUR 5.7).
const (
	accountShift = 7
	accountMask  = uint64(1)<<40 - 1
)

// withAccount writes account into a key id's 10 random bytes.
func withAccount(id *[10]byte, account string) {
	n, err := strconv.ParseUint(account, 10, 64)
	if err != nil || n > accountMask {
		return
	}
	var head [8]byte
	copy(head[2:], id[:6])
	z := binary.BigEndian.Uint64(head[:])
	z = z&^(accountMask<<accountShift) | n<<accountShift
	binary.BigEndian.PutUint64(head[:], z)
	copy(id[:6], head[2:])
}

// KeyIDAccount reads the account an access key id carries; ok is false
// when the id is not a four-character prefix and at least ten characters of
// base32.
func KeyIDAccount(keyID string) (string, bool) {
	if len(keyID) < 14 {
		return "", false
	}
	body := keyID[4:]
	if len(body) > 16 {
		body = body[:16]
	}
	for len(body) < 16 {
		body += "A"
	}
	b, err := keyAlphabet.DecodeString(body)
	if err != nil || len(b) < 6 {
		return "", false
	}
	var head [8]byte
	copy(head[2:], b[:6])
	n := binary.BigEndian.Uint64(head[:]) >> accountShift & accountMask
	return fmt.Sprintf("%012d", n), true
}

// accessKeyIDRe is the model's accessKeyIdType pattern.
var accessKeyIDRe = regexp.MustCompile(`^\w*$`)

// GetAccessKeyInfo names the account an access key id belongs to: the
// owner for a key of this deployment (an account root's or an IAM user's),
// else the account the id itself carries, for any well-formed id. A
// GetSessionToken session is refused before (SessionMayCall).
func (s *Service) GetAccessKeyInfo(ctx context.Context, caller *auth.Principal, keyID string, req auth.Request) (string, error) {
	var v validation.Collector
	if v.Required("accessKeyId", keyID != "") {
		v.LengthAndPattern("accessKeyId", keyID, 16, 128, accessKeyIDRe, `[\w]*`)
	}
	if err := v.Err(); err != nil {
		return "", err
	}
	if err := auth.Authorize(caller, "sts:GetAccessKeyInfo", "*", req, nil); err != nil {
		return "", err
	}
	account, ok, err := s.Registry.KeyAccount(ctx, keyID)
	if err != nil || ok {
		return account, err
	}
	account, ok = KeyIDAccount(keyID)
	if !ok {
		return "", fail(ErrInvalidParameter, "The access key ID %s is not a valid access key ID: it is a four-letter prefix (AKIA, ASIA, …) and base32 characters (A-Z, 2-7).", printable(keyID))
	}
	return account, nil
}
