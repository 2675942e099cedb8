package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/clock"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors; every error Verify returns wraps exactly one.
var (
	ErrMissingAuth         = errors.New("sigv4: missing authentication")
	ErrIncompleteSignature = errors.New("sigv4: incomplete signature")
	ErrUnknownAccessKey    = errors.New("sigv4: unknown access key")
	ErrInvalidClientToken  = errors.New("sigv4: invalid security token")
	ErrExpiredToken        = errors.New("sigv4: expired security token")
	ErrSignatureMismatch   = errors.New("sigv4: signature mismatch")
	ErrSignatureExpired    = errors.New("sigv4: signature expired")
	ErrWrongRegion         = errors.New("sigv4: credential scoped to another region")
	ErrWrongService        = errors.New("sigv4: credential scoped to another service")
	ErrScopeDate           = errors.New("sigv4: credential scope date mismatch")
)

// Error is a verification failure with AWS's message.
type Error = apierror.Error

var fail = apierror.New

const (
	algorithm      = "AWS4-HMAC-SHA256"
	timeFormat     = "20060102T150405Z"
	dateFormat     = "20060102"
	terminator     = "aws4_request"
	unsignedPaylod = "UNSIGNED-PAYLOAD"
	maxPresign     = 7 * 24 * time.Hour
)

// Credential is what a CredentialSource knows about an access key.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken, when set, must be presented exactly; when empty, a
	// request presenting a token is refused.
	SessionToken string
	Expiration   time.Time
	Principal    any
}

// CredentialSource looks up access keys.
type CredentialSource interface {
	LookupCredential(ctx context.Context, accessKeyID, sessionToken string) (Credential, error)
}

// Verifier verifies signatures for one region.
type Verifier struct {
	Credentials CredentialSource
	Region      string
	Clock       clock.Clock
	MaxSkew     time.Duration

	keys signingKeys
}

// Result describes a verified request.
type Result struct {
	Credential      Credential
	Region, Service string
	SignedAt        time.Time
	Presigned       bool
}

// authInfo is what step 1 extracts.
type authInfo struct {
	accessKeyID   string
	scopeDate     string
	scopeRegion   string
	scopeService  string
	scopeTerm     string
	signedHeaders []string
	signature     string
	amzDate       string
	expires       time.Duration
	presigned     bool
	securityToken string
}

// Verify checks r's signature; body is the whole request body.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte, service string) (Result, error) {
	return v.VerifyIn(ctx, r, body, service, v.Region)
}

// VerifyIn is Verify for a request whose credential must be scoped to
// region (a global service's, such as IAM's us-east-1).
func (v *Verifier) VerifyIn(ctx context.Context, r *http.Request, body []byte, service, region string) (Result, error) {
	now := v.Clock.Now()
	skew := v.MaxSkew
	if skew == 0 {
		skew = 15 * time.Minute
	}
	ai, err := parse(r)
	if err != nil {
		return Result{}, err
	}
	signedAt, err := checkTime(ai, now, skew)
	if err != nil {
		return Result{}, err
	}
	if err := checkScope(ai, region, service); err != nil {
		return Result{}, err
	}
	cred, err := v.lookup(ctx, ai, now)
	if err != nil {
		return Result{}, err
	}
	if err := checkCoverage(r, ai); err != nil {
		return Result{}, err
	}
	payload, err := payloadHash(r, body, ai.presigned)
	if err != nil {
		return Result{}, err
	}
	creq := canonicalRequest(r, ai, payload)
	sts := stringToSign(ai, creq)
	key := v.keys.get(cred.SecretAccessKey, ai.scopeDate, ai.scopeRegion, ai.scopeService)
	var want [2 * sha256.Size]byte
	hex.Encode(want[:], hmacSHA256(key, sts))
	if !hmac.Equal(want[:], []byte(strings.ToLower(ai.signature))) {
		return Result{}, fail(ErrSignatureMismatch, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return Result{Credential: cred, Region: ai.scopeRegion, Service: ai.scopeService, SignedAt: signedAt, Presigned: ai.presigned}, nil
}

// parse is step 1.
func parse(r *http.Request) (authInfo, error) {
	header := r.Header.Get("Authorization")
	q := r.URL.Query()
	queryAuth := q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential") || q.Has("X-Amz-Signature")
	switch {
	case header != "" && queryAuth:
		return authInfo{}, fail(ErrIncompleteSignature, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.")
	case header != "":
		return parseHeader(r, header)
	case queryAuth:
		return parseQuery(q)
	}
	return authInfo{}, fail(ErrMissingAuth, "Request is missing Authentication Token")
}

func parseHeader(r *http.Request, header string) (authInfo, error) {
	alg, rest, _ := strings.Cut(header, " ")
	if alg != algorithm {
		return authInfo{}, fail(ErrIncompleteSignature, "Unsupported authorization type: %s. Use %s.", printable(alg), algorithm)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return authInfo{}, fail(ErrIncompleteSignature, "Authorization header requires each component to be of the form key=value. '%s' is not.", printable(part))
		}
		fields[k] = val
	}
	var missing []string
	for _, k := range []string{"Credential", "Signature", "SignedHeaders"} {
		if fields[k] == "" {
			missing = append(missing, fmt.Sprintf("Authorization header requires '%s' parameter.", k))
		}
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		amzDate = r.Header.Get("Date")
		if amzDate != "" {
			if t, err := http.ParseTime(amzDate); err == nil {
				amzDate = t.UTC().Format(timeFormat)
			}
		}
	}
	if amzDate == "" {
		missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(missing) > 0 {
		return authInfo{}, fail(ErrIncompleteSignature, "%s", strings.Join(missing, " "))
	}
	ai := authInfo{
		signedHeaders: strings.Split(fields["SignedHeaders"], ";"),
		signature:     fields["Signature"],
		amzDate:       amzDate,
		securityToken: r.Header.Get("X-Amz-Security-Token"),
	}
	if err := parseCredential(&ai, fields["Credential"]); err != nil {
		return authInfo{}, err
	}
	return ai, nil
}

func parseQuery(q url.Values) (authInfo, error) {
	var missing []string
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"} {
		if q.Get(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return authInfo{}, fail(ErrIncompleteSignature, "AWS query-string parameters must include %s. Re-examine the query-string parameters.", strings.Join(missing, ", "))
	}
	if q.Get("X-Amz-Algorithm") != algorithm {
		return authInfo{}, fail(ErrIncompleteSignature, "X-Amz-Algorithm only supports \"%s\".", algorithm)
	}
	exp, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err != nil || exp < 1 {
		return authInfo{}, fail(ErrIncompleteSignature, "X-Amz-Expires must be a positive number of seconds.")
	}
	if time.Duration(exp)*time.Second > maxPresign {
		return authInfo{}, fail(ErrIncompleteSignature, "X-Amz-Expires must be less than a week (in seconds) that is 604800.")
	}
	ai := authInfo{
		signedHeaders: strings.Split(q.Get("X-Amz-SignedHeaders"), ";"),
		signature:     q.Get("X-Amz-Signature"),
		amzDate:       q.Get("X-Amz-Date"),
		expires:       time.Duration(exp) * time.Second,
		presigned:     true,
		securityToken: q.Get("X-Amz-Security-Token"),
	}
	if err := parseCredential(&ai, q.Get("X-Amz-Credential")); err != nil {
		return authInfo{}, err
	}
	return ai, nil
}

func parseCredential(ai *authInfo, cred string) error {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[0] == "" {
		return fail(ErrIncompleteSignature, "Credential should be of the form ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request, not '%s'.", printable(redactKey(cred)))
	}
	ai.accessKeyID, ai.scopeDate, ai.scopeRegion, ai.scopeService, ai.scopeTerm = parts[0], parts[1], parts[2], parts[3], parts[4]
	return nil
}

// redactKey keeps the error free of anything but the scope.
func redactKey(cred string) string {
	if i := strings.Index(cred, "/"); i >= 0 {
		return "…" + cred[i:]
	}
	return "…"
}

// checkTime is step 2.
func checkTime(ai authInfo, now time.Time, skew time.Duration) (time.Time, error) {
	t, err := time.Parse(timeFormat, ai.amzDate)
	if err != nil {
		return time.Time{}, fail(ErrIncompleteSignature, "Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", printable(ai.amzDate))
	}
	now = now.UTC()
	if ai.presigned {
		if now.After(t.Add(ai.expires)) {
			return t, fail(ErrSignatureExpired, "Signature expired: %s is now earlier than %s (%s + %d sec.)",
				t.Add(ai.expires).Format(timeFormat), now.Format(timeFormat), t.Format(timeFormat), int(ai.expires/time.Second))
		}
		if t.After(now.Add(skew)) {
			return t, fail(ErrSignatureExpired, "Signature not yet current: %s is still later than %s (%s + %d min.)",
				t.Format(timeFormat), now.Add(skew).Format(timeFormat), now.Format(timeFormat), int(skew/time.Minute))
		}
		return t, nil
	}
	if t.Before(now.Add(-skew)) {
		return t, fail(ErrSignatureExpired, "Signature expired: %s is now earlier than %s (%s - %d min.)",
			t.Format(timeFormat), now.Add(-skew).Format(timeFormat), now.Format(timeFormat), int(skew/time.Minute))
	}
	if t.After(now.Add(skew)) {
		return t, fail(ErrSignatureExpired, "Signature not yet current: %s is still later than %s (%s + %d min.)",
			t.Format(timeFormat), now.Add(skew).Format(timeFormat), now.Format(timeFormat), int(skew/time.Minute))
	}
	return t, nil
}

// checkScope is step 3.
func checkScope(ai authInfo, region, service string) error {
	if ai.scopeDate != ai.amzDate[:8] {
		return fail(ErrScopeDate, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			printable(ai.scopeDate), ai.amzDate[:8], ai.amzDate)
	}
	if ai.scopeRegion != region {
		return fail(ErrWrongRegion, "Credential should be scoped to a valid region. ")
	}
	if ai.scopeService != service {
		return fail(ErrWrongService, "Credential should be scoped to correct service: '%s'. ", service)
	}
	if ai.scopeTerm != terminator {
		return fail(ErrIncompleteSignature, "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", printable(ai.scopeTerm))
	}
	return nil
}

// lookup is step 4.
func (v *Verifier) lookup(ctx context.Context, ai authInfo, now time.Time) (Credential, error) {
	cred, err := v.Credentials.LookupCredential(ctx, ai.accessKeyID, ai.securityToken)
	switch {
	case errors.Is(err, ErrUnknownAccessKey), errors.Is(err, ErrInvalidClientToken):
		return Credential{}, fail(errKind(err), "The security token included in the request is invalid.")
	case errors.Is(err, ErrExpiredToken):
		return Credential{}, fail(ErrExpiredToken, "The security token included in the request is expired")
	case err != nil:
		return Credential{}, err
	}
	if cred.SessionToken != ai.securityToken {
		return Credential{}, fail(ErrInvalidClientToken, "The security token included in the request is invalid.")
	}
	if !cred.Expiration.IsZero() && !now.Before(cred.Expiration) {
		return Credential{}, fail(ErrExpiredToken, "The security token included in the request is expired")
	}
	return cred, nil
}

func errKind(err error) error {
	if errors.Is(err, ErrUnknownAccessKey) {
		return ErrUnknownAccessKey
	}
	return ErrInvalidClientToken
}

// checkCoverage is step 5. Every signed request passes here, so it folds
// case while comparing rather than lower-casing each header name (a
// request's header names are HTTP tokens, ASCII, so folding and
// lower-casing agree), and finds signed names in the short sorted list.
func checkCoverage(r *http.Request, ai authInfo) error {
	for i, h := range ai.signedHeaders {
		if h == "" || h != strings.ToLower(h) || (i > 0 && ai.signedHeaders[i-1] >= h) {
			return fail(ErrIncompleteSignature, "SignedHeaders must be lower-case header names, sorted and separated by ';'.")
		}
	}
	signed := func(name string) bool {
		for _, h := range ai.signedHeaders {
			if strings.EqualFold(h, name) {
				return true
			}
		}
		return false
	}
	if !signed("host") {
		return fail(ErrIncompleteSignature, "'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	for name := range r.Header {
		mustSign := len(name) >= len("x-amz-") && strings.EqualFold(name[:len("x-amz-")], "x-amz-") || strings.EqualFold(name, "content-type")
		if ai.presigned && strings.EqualFold(name, "x-amz-content-sha256") {
			mustSign = false
		}
		if !ai.presigned && strings.EqualFold(name, "x-amz-security-token") {
			mustSign = true
		}
		if mustSign && !signed(name) {
			return fail(ErrIncompleteSignature, "'%s' must be a 'SignedHeader' in the AWS Authorization.", printable(canonicalName(name)))
		}
	}
	return nil
}

func canonicalName(name string) string { return http.CanonicalHeaderKey(name) }

// payloadHash hashes the body; a client-sent X-Amz-Content-Sha256 must agree.
func payloadHash(r *http.Request, body []byte, presigned bool) (string, error) {
	sum := sha256.Sum256(body)
	computed := hex.EncodeToString(sum[:])
	claimed := r.Header.Get("X-Amz-Content-Sha256")
	switch {
	case claimed == "":
		return computed, nil
	case claimed == unsignedPaylod && presigned:
		return unsignedPaylod, nil
	case strings.EqualFold(claimed, computed):
		return claimed, nil
	}
	return "", fail(ErrSignatureMismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
}

// canonicalRequest is the first part of step 6, in one buffer sized for
// it (every signed request builds one).
func canonicalRequest(r *http.Request, ai authInfo, payload string) []byte {
	uri, query := canonicalURI(r.URL), canonicalQuery(r.URL.Query())
	n := len(r.Method) + len(uri) + len(query) + len(payload) + 4
	values := make([]string, len(ai.signedHeaders))
	for i, h := range ai.signedHeaders {
		values[i] = headerValue(r, h)
		n += 2*len(h) + len(values[i]) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = append(b, uri...)
	b = append(b, '\n')
	b = append(b, query...)
	b = append(b, '\n')
	for i, h := range ai.signedHeaders {
		b = append(b, h...)
		b = append(b, ':')
		b = append(b, values[i]...)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	for i, h := range ai.signedHeaders {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, h...)
	}
	b = append(b, '\n')
	return append(b, payload...)
}

// canonicalURI escapes the already-escaped path once more, as AWS does for
// every service but S3.
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if unreserved(c) || c == '/' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func canonicalQuery(q url.Values) string {
	type kv struct{ k, v string }
	var params []kv
	for k, vs := range q {
		if k == "X-Amz-Signature" {
			continue
		}
		ek := queryEscape(k)
		for _, v := range vs {
			params = append(params, kv{ek, queryEscape(v)})
		}
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i].k != params[j].k {
			return params[i].k < params[j].k
		}
		return params[i].v < params[j].v
	})
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

func queryEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// headerValue is the canonical value of a signed header.
func headerValue(r *http.Request, name string) string {
	var vals []string
	switch name {
	case "host":
		return collapseSpaces(r.Host)
	case "content-length":
		vals = r.Header.Values("Content-Length")
		if len(vals) == 0 {
			vals = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	default:
		vals = r.Header.Values(name)
	}
	for i, v := range vals {
		vals[i] = collapseSpaces(v)
	}
	return strings.Join(vals, ",")
}

func collapseSpaces(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func stringToSign(ai authInfo, creq []byte) []byte {
	sum := sha256.Sum256(creq)
	b := make([]byte, 0, len(algorithm)+len(ai.amzDate)+len(ai.scopeDate)+len(ai.scopeRegion)+len(ai.scopeService)+len(terminator)+6+hex.EncodedLen(len(sum)))
	b = append(b, algorithm+"\n"...)
	b = append(b, ai.amzDate...)
	b = append(b, '\n')
	b = append(b, ai.scopeDate...)
	b = append(b, '/')
	b = append(b, ai.scopeRegion...)
	b = append(b, '/')
	b = append(b, ai.scopeService...)
	b = append(b, "/"+terminator+"\n"...)
	return hex.AppendEncode(b, sum[:])
}

// SigningKey derives the SigV4 signing key.
func SigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte(terminator))
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

var printable = apierror.Printable
