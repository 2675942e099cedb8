package authtoken

import (
	"encoding/binary"
	"errors"
	"time"
)

// Format version 2's binary layout. Integers are big-endian; a string is
// a uint16 length and its bytes.
//
//	header: u8 version (2) · str account · str region · str tokenId ·
//	        i64 issuedAt · i64 expires (Unix seconds) · u8 n (1..255) ·
//	        n × (str workgroupId · u32 keyVersion · str nonce‖wrapped data key) ·
//	        u32 body length
//	body:   12-byte nonce ‖ AES-256-GCM(data key, claims, associated data = header)
//	claims: str account · str region · u8 n · n × (str arn · str name ·
//	        str identityNamespace) · str instanceArn · str identityStoreArn ·
//	        str userId · str userName · u16 g · g × str group ·
//	        str applicationArn · str roleSessionArn · i64 issuedAt ·
//	        i64 expires · str tokenId
//
// The wrapped data key's associated data binds it to the token id, the
// workgroup and the key version (wrapAAD).

const maxCount16 = 1<<16 - 1

var errTooLong = errors.New("authtoken: a claim is longer than 65535 bytes")

func strSize(s string) (int, error) {
	if len(s) > maxCount16 {
		return 0, errTooLong
	}
	return 2 + len(s), nil
}

// sizes adds up strSize of each string.
func sizes(ss ...string) (int, error) {
	n := 0
	for _, s := range ss {
		k, err := strSize(s)
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

func headerSize(c Claims, keys []WorkgroupKey) (int, error) {
	n, err := sizes(c.Account, c.Region, c.TokenID)
	if err != nil {
		return 0, err
	}
	n += 1 + 8 + 8 + 1 + 4
	for _, k := range keys {
		w, err := strSize(k.WorkgroupID)
		if err != nil {
			return 0, err
		}
		if k.Version < 1 || int64(k.Version) > 1<<32-1 {
			return 0, errors.New("authtoken: key version out of range")
		}
		n += w + 4 + 2 + nonceSize + dataKeySize + tagSize
	}
	return n, nil
}

func claimsSize(c Claims) (int, error) {
	n, err := sizes(c.Account, c.Region, c.InstanceArn, c.IdentityStoreArn, c.UserID, c.UserName,
		c.ApplicationArn, c.RoleSessionArn, c.TokenID)
	if err != nil {
		return 0, err
	}
	n += 1 + 2 + 8 + 8
	for _, w := range c.Workgroups {
		k, err := sizes(w.Arn, w.Name, w.IdentityNamespace)
		if err != nil {
			return 0, err
		}
		n += k
	}
	g, err := sizes(c.Groups...)
	if err != nil {
		return 0, err
	}
	return n + g, nil
}

func appendU16(b []byte, v int) []byte    { return binary.BigEndian.AppendUint16(b, uint16(v)) }
func appendU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func appendI64(b []byte, v int64) []byte  { return binary.BigEndian.AppendUint64(b, uint64(v)) }
func appendStr(b []byte, s string) []byte { return append(appendU16(b, len(s)), s...) }

func appendClaims(b []byte, c Claims) []byte {
	b = appendStr(b, c.Account)
	b = appendStr(b, c.Region)
	b = append(b, byte(len(c.Workgroups)))
	for _, w := range c.Workgroups {
		b = appendStr(b, w.Arn)
		b = appendStr(b, w.Name)
		b = appendStr(b, w.IdentityNamespace)
	}
	b = appendStr(b, c.InstanceArn)
	b = appendStr(b, c.IdentityStoreArn)
	b = appendStr(b, c.UserID)
	b = appendStr(b, c.UserName)
	b = appendU16(b, len(c.Groups))
	for _, g := range c.Groups {
		b = appendStr(b, g)
	}
	b = appendStr(b, c.ApplicationArn)
	b = appendStr(b, c.RoleSessionArn)
	b = appendI64(b, c.IssuedAt.Unix())
	b = appendI64(b, c.Expires.Unix())
	return appendStr(b, c.TokenID)
}

// wrapAADLabel separates version 2's data-key wrapping from version 1's
// and from every other use of a workgroup key.
const wrapAADLabel = "idcgate data key v2\x00"

// wrapAADMax is a capacity that fits the usual ids without growing.
const wrapAADMax = 128

func wrapAAD(b []byte, tokenID, workgroupID string, version int) []byte {
	b = append(b, wrapAADLabel...)
	b = appendStr(b, tokenID)
	b = appendStr(b, workgroupID)
	return appendU32(b, uint32(version))
}

// reader decodes the layout above. Strings are substrings of s, one copy
// of the input, so decoding n strings costs one allocation, not n.
type reader struct {
	b     []byte
	s     string
	off   int
	short bool // the input ended early
}

func (r *reader) take(n int) (int, bool) {
	if r.short || n > len(r.b)-r.off {
		r.short = true
		return 0, false
	}
	at := r.off
	r.off += n
	return at, true
}

func (r *reader) u8() int {
	at, ok := r.take(1)
	if !ok {
		return 0
	}
	return int(r.b[at])
}

func (r *reader) u16() int {
	at, ok := r.take(2)
	if !ok {
		return 0
	}
	return int(binary.BigEndian.Uint16(r.b[at:]))
}

func (r *reader) u32() uint32 {
	at, ok := r.take(4)
	if !ok {
		return 0
	}
	return binary.BigEndian.Uint32(r.b[at:])
}

func (r *reader) i64() int64 {
	at, ok := r.take(8)
	if !ok {
		return 0
	}
	return int64(binary.BigEndian.Uint64(r.b[at:]))
}

func (r *reader) str() string {
	n := r.u16()
	at, ok := r.take(n)
	if !ok {
		return ""
	}
	return r.s[at : at+n]
}

func (r *reader) bytes() []byte {
	n := r.u16()
	at, ok := r.take(n)
	if !ok {
		return nil
	}
	return r.b[at : at+n : at+n]
}

// decodeHeader reads a version 2 header from the start of blob and
// returns it, its length and the declared body length. An input that ends
// inside the header is ErrTruncated; one that is not this layout is
// ErrMalformed.
func decodeHeader(blob []byte) (Header, int, int, error) {
	r := reader{b: blob}
	if v := r.u8(); r.short {
		return Header{}, 0, 0, ErrTruncated
	} else if v != FormatVersion {
		return Header{}, 0, 0, ErrMalformed
	}
	// One copy for every string of the header (the ids are substrings).
	r.s = string(blob)
	h := Header{Version: FormatVersion}
	h.Account = r.str()
	h.Region = r.str()
	h.TokenID = r.str()
	h.IssuedAt = r.i64()
	h.Expires = r.i64()
	n := r.u8()
	if r.short {
		return Header{}, 0, 0, ErrTruncated
	}
	if n == 0 {
		return Header{}, 0, 0, ErrMalformed
	}
	h.Keys = make([]WrappedKey, n)
	for i := range h.Keys {
		k := &h.Keys[i]
		k.WorkgroupID = r.str()
		k.KeyVersion = int(r.u32())
		k.Wrapped = r.bytes()
	}
	bodyLen := int(r.u32())
	if r.short {
		return Header{}, 0, 0, ErrTruncated
	}
	return h, r.off, bodyLen, nil
}

var errBadClaims = errors.New("authtoken: bad claims encoding")

func decodeClaims(plain []byte) (Claims, error) {
	r := reader{b: plain, s: string(plain)}
	var c Claims
	c.Account = r.str()
	c.Region = r.str()
	if n := r.u8(); n > 0 && !r.short {
		c.Workgroups = make([]Workgroup, n)
		for i := range c.Workgroups {
			w := &c.Workgroups[i]
			w.Arn, w.Name, w.IdentityNamespace = r.str(), r.str(), r.str()
		}
	}
	c.InstanceArn = r.str()
	c.IdentityStoreArn = r.str()
	c.UserID = r.str()
	c.UserName = r.str()
	if g := r.u16(); !r.short && g <= len(plain) {
		c.Groups = make([]string, g)
		for i := range c.Groups {
			c.Groups[i] = r.str()
		}
	}
	c.ApplicationArn = r.str()
	c.RoleSessionArn = r.str()
	c.IssuedAt = time.Unix(r.i64(), 0).UTC()
	c.Expires = time.Unix(r.i64(), 0).UTC()
	c.TokenID = r.str()
	if r.short || r.off != len(plain) {
		return Claims{}, errBadClaims
	}
	return c, nil
}
