package authtoken

import (
	"crypto/cipher"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/idcgate/idcgate/internal/seal"
)

// Format version 1, opened but no longer issued:
//
//	IDC1.<base64url(header JSON)>.<base64url(nonce ‖ sealed claims JSON)>
//
// with "IDC1.<header text>" as the claims' associated data. It has no
// declared body length, so a cut body is refused as ErrTampered, not
// ErrTruncated. It can be dropped one release after version 2 shipped:
// by then no version 1 token is unexpired (the TTL is at most 12 hours).

func parseV1(token string) (parsed, error) {
	headerText, bodyText, ok := strings.Cut(token[len(PrefixV1):], ".")
	if !ok {
		return parsed{}, ErrMalformed
	}
	hb, err := seal.DecodeCanonical(headerText)
	if err != nil {
		return parsed{}, ErrMalformed
	}
	body, err := seal.DecodeCanonical(bodyText)
	if err != nil {
		return parsed{}, ErrMalformed
	}
	var h Header
	if err := json.Unmarshal(hb, &h); err != nil || h.Version != 1 || len(h.Keys) == 0 {
		return parsed{}, ErrMalformed
	}
	return parsed{h: h, aad: []byte(PrefixV1 + headerText), body: body, v1: true}, nil
}

func wrapAADV1(tokenID, workgroupID string, version int) []byte {
	return []byte(fmt.Sprintf("idcgate data key\x00%s\x00%s\x00%d", tokenID, workgroupID, version))
}

func openV1(p parsed, wk *WrappedKey, aead cipher.AEAD) (Claims, error) {
	h := p.h
	dek, err := seal.OpenSealed(aead, wk.Wrapped, wrapAADV1(h.TokenID, wk.WorkgroupID, wk.KeyVersion))
	if err != nil {
		return Claims{}, ErrTampered
	}
	daead, err := NewAEAD(dek)
	if err != nil {
		return Claims{}, ErrTampered
	}
	plain, err := seal.OpenSealed(daead, p.body, p.aad)
	if err != nil {
		return Claims{}, ErrTampered
	}
	var c Claims
	if err := json.Unmarshal(plain, &c); err != nil {
		return Claims{}, ErrTampered
	}
	if c.TokenID != h.TokenID || c.Expires.Unix() != h.Expires || c.IssuedAt.Unix() != h.IssuedAt {
		return Claims{}, ErrTampered
	}
	return c, nil
}
