// Package issuer implements Redshift Serverless GetIdentityCenterAuthToken:
// the checks of BEHAVIOUR 4.2 in their order, then a token sealed for every named
// workgroup. It also opens tokens for the gateway and for inspection.
package issuer

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/authtoken"
	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/keyring"
	"github.com/idcgate/idcgate/internal/redshiftidc"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/validation"
)

// ErrDryRun is answered instead of a token when every check passed and the
// request asked for a dry run.
var ErrDryRun = errors.New("issuer: dry run")

// Action is the IAM action checked on every workgroup.
const Action = "redshift-serverless:GetIdentityCenterAuthToken"

// Issuer issues and opens tokens.
type Issuer struct {
	Serverless *serverless.Service
	Keys       *keyring.Keyring
	Dir        *identitycenter.Directory
	IdcApps    *redshiftidc.Service
	TTL        time.Duration
	Clock      clock.Clock
	Rand       io.Reader
}

// Request is one call.
type Request struct {
	Principal *auth.Principal
	Auth      auth.Request
	Scope     serverless.Scope
	Body      []byte
	DryRun    bool
	// Fault applies injected faults (error or latency) at check 10, after
	// every other check passed, so a request that fails a check gets that
	// check's error whatever the fault rules say. Nil: none.
	Fault func(context.Context) error
}

// Result is the token and its expiry.
type Result struct {
	Token   string
	Expires time.Time
	Claims  authtoken.Claims
}

const namePattern = "[a-z0-9-]+"

var nameRe = regexp.MustCompile("^" + namePattern + "$")

// ParseInput applies check 3: a JSON object with workgroupNames, 1–20
// names of 3–64 characters of [a-z0-9-]; unknown members ignored;
// duplicates count once.
func ParseInput(body []byte) ([]string, error) {
	if names, ok := plainInput(body); ok {
		return names, nil
	}
	return parseInputGeneral(body)
}

// parseInputGeneral is ParseInput for any body.
func parseInputGeneral(body []byte) ([]string, error) {
	if len(body) == 0 {
		body = []byte("{}")
	}
	member, ok := topLevelMember(body, "workgroupNames")
	if !ok {
		return nil, validation.Newf("1 validation error detected: The request body must be a JSON object.")
	}
	var v validation.Collector
	if member == nil || string(member) == "null" {
		v.Required("workgroupNames", false)
		return nil, v.Err()
	}
	var names []string
	if err := json.Unmarshal(member, &names); err != nil {
		v.Add("workgroupNames", string(member), "Member must be a list of strings")
		return nil, v.Err()
	}
	if v.Items("workgroupNames", names, 1, 20) {
		for i, n := range names {
			if validName(n) {
				continue
			}
			path := fmt.Sprintf("workgroupNames.%d.member", i+1)
			v.LengthAndPattern(path, n, 3, 64, nameRe, namePattern)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := names[:0]
	for i, n := range names {
		if !slices.Contains(names[:i], n) { // at most 20: a scan beats a map
			out = append(out, n)
		}
	}
	return out, nil
}

// plainInput is ParseInput's fast path, for the body every SDK sends (see
// PlainNames), with duplicates counted once.
func plainInput(body []byte) (names []string, ok bool) {
	all, ok := PlainNames(body)
	if !ok {
		return nil, false
	}
	names = all[:0]
	for _, n := range all {
		if !slices.Contains(names, n) { // at most 20: a scan beats a map
			names = append(names, n)
		}
	}
	return names, true
}

// PlainNames reads the body every SDK sends: one object whose only member
// is "workgroupNames", a list of 1 to 20 valid names with no escapes (JSON
// whitespace anywhere allowed). It returns every name in order, duplicates
// included, exactly as encoding/json would decode them. ok is false for
// anything else, which the general path then parses (and explains), so the
// fast path never answers differently, only sooner: encoding/json's token
// decoder took most of the input's cost for 20 names.
func PlainNames(body []byte) (names []string, ok bool) {
	const member = `"workgroupNames"`
	i := 0
	ws := func() {
		for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r') {
			i++
		}
	}
	lit := func(c byte) bool {
		ws()
		if i < len(body) && body[i] == c {
			i++
			return true
		}
		return false
	}
	if !lit('{') {
		return nil, false
	}
	ws()
	if !bytes.HasPrefix(body[i:], []byte(member)) {
		return nil, false
	}
	i += len(member)
	if !lit(':') || !lit('[') {
		return nil, false
	}
	text := string(body) // one copy; the names are substrings of it
	for count := 1; ; count++ {
		if !lit('"') {
			return nil, false
		}
		start := i
		for i < len(body) && body[i] != '"' {
			i++
		}
		if i == len(body) {
			return nil, false
		}
		n := text[start:i]
		i++
		if !validName(n) || count > 20 {
			return nil, false
		}
		names = append(names, n)
		if lit(',') {
			continue
		}
		if !lit(']') || !lit('}') {
			return nil, false
		}
		ws()
		return names, i == len(body)
	}
}

// validName is the fast path of the name constraints (3–64 characters of
// [a-z0-9-]); a name it refuses goes through the Collector for the message.
func validName(n string) bool {
	if len(n) < 3 || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// topLevelMember returns the raw value of the member named exactly name
// (the last one, as a map would keep) of the JSON object in body, nil when
// absent; ok is false when body is not exactly one JSON object.
func topLevelMember(body []byte, name string) (member json.RawMessage, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		if key == name {
			member = raw
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return member, true
}

// resolved points into the read's records (shared with the decoded-record
// cache: read only), so that 20 workgroups are not 60 record copies.
type resolved struct {
	wg  *serverless.Workgroup
	ns  *serverless.Namespace
	app *redshiftidc.Application
}

// Issue runs checks 3 to 10 (1 and 2 are the server's) and seals a token.
func (i *Issuer) Issue(ctx context.Context, req Request) (Result, error) {
	names, err := ParseInput(req.Body)
	if err != nil {
		return Result{}, err
	}
	// 4. Every name is a workgroup of the caller's account and region.
	wgList, nsList, err := i.Serverless.WorkgroupsWithNamespaces(ctx, req.Scope, names)
	if err != nil {
		return Result{}, err
	}
	wgs := make([]resolved, len(wgList))
	for k := range wgList {
		wgs[k] = resolved{wg: &wgList[k], ns: &nsList[k]}
	}
	// 5. IAM allows the action on every workgroup.
	p := req.Principal
	arns := make([]string, len(wgs))
	for k, r := range wgs {
		arns[k] = r.wg.WorkgroupArn
	}
	if err := auth.AuthorizeAll(p, Action, arns, req.Auth, nil); err != nil {
		return Result{}, err
	}
	// 6. The session is identity-enhanced.
	ic := p.IdentityContext
	if ic == nil {
		return Result{}, auth.Deny(p.ARN, Action, "",
			" because the session is not identity-enhanced: use credentials from sts:AssumeRole with an IAM Identity Center context in ProvidedContexts")
	}
	// 7. Every workgroup is AVAILABLE.
	for _, r := range wgs {
		if r.wg.Status != serverless.StatusAvailable {
			return Result{}, notAvailable(*r.wg)
		}
	}
	// 8. Identity Center is enabled on every namespace, with the caller's instance.
	apps, err := i.IdcApps.List(ctx, req.Scope)
	if err != nil {
		return Result{}, err
	}
	for k := range wgs {
		r := &wgs[k]
		if r.ns.IdcApplicationArn == "" {
			return Result{}, validation.Newf("Workgroup %s does not have Identity Center integration enabled: its namespace %s has no Redshift IdC application.", r.wg.WorkgroupName, r.ns.NamespaceName)
		}
		var app *redshiftidc.Application
		for a := range apps {
			if apps[a].Arn == r.ns.IdcApplicationArn {
				app = &apps[a]
			}
		}
		if app == nil {
			return Result{}, validation.Newf("Workgroup %s does not have Identity Center integration enabled: the Redshift IdC application of namespace %s no longer exists.", r.wg.WorkgroupName, r.ns.NamespaceName)
		}
		if app.IdcInstanceArn != ic.InstanceArn {
			return Result{}, validation.Newf("Workgroup %s is integrated with Identity Center instance %s, not with the caller's %s.", r.wg.WorkgroupName, app.IdcInstanceArn, ic.InstanceArn)
		}
		r.app = app
	}
	// 9. The user still exists in the directory the context names.
	if i.Dir == nil || ic.IdentityStoreID != i.Dir.IdentityStoreID {
		store := ""
		if i.Dir != nil {
			store = i.Dir.IdentityStoreID
		}
		return Result{}, auth.Deny(p.ARN, Action, "",
			" because the identity context's identity store "+ic.IdentityStoreID+" is not this Identity Center instance's identity store "+store)
	}
	user, err := i.Dir.UserByID(ctx, ic.UserID)
	if err != nil && !errors.Is(err, identitycenter.ErrNoSuchUser) {
		return Result{}, err
	}
	if err != nil {
		return Result{}, auth.Deny(p.ARN, Action, "",
			" because the Identity Center user "+ic.UserID+" no longer exists in identity store "+ic.IdentityStoreID)
	}
	// 10. Injected faults, then the dry run: a dry run answers "would have
	// succeeded" only when the real call could have.
	if req.Fault != nil {
		if err := req.Fault(ctx); err != nil {
			return Result{}, err
		}
	}
	if req.DryRun {
		return Result{}, apierror.New(ErrDryRun, "Request would have succeeded, but the DryRun flag is set.")
	}
	return i.seal(ctx, req, wgs, ic, user)
}

func (i *Issuer) seal(ctx context.Context, req Request, wgs []resolved, ic *identitycenter.Context, user *identitycenter.User) (Result, error) {
	now := i.Clock.Now().UTC().Truncate(time.Second)
	exp := now.Add(i.TTL)
	if e := req.Principal.Expiration; !e.IsZero() && e.Before(exp) {
		exp = e.UTC().Truncate(time.Second)
	}
	tid := make([]byte, 16)
	if _, err := io.ReadFull(i.random(), tid); err != nil {
		return Result{}, err
	}
	c := authtoken.Claims{
		Account: req.Scope.Account, Region: req.Scope.Region,
		InstanceArn: ic.InstanceArn, IdentityStoreArn: ic.IdentityStoreArn, ApplicationArn: ic.ApplicationArn,
		UserID: user.UserID, UserName: user.UserName, Groups: append([]string{}, user.Groups...),
		RoleSessionArn: req.Principal.ARN, IssuedAt: now, Expires: exp,
		TokenID: base64.RawURLEncoding.EncodeToString(tid),
	}
	keys := make([]authtoken.WorkgroupKey, 0, len(wgs))
	c.Workgroups = make([]authtoken.Workgroup, 0, len(wgs))
	for _, r := range wgs {
		c.Workgroups = append(c.Workgroups, authtoken.Workgroup{Arn: r.wg.WorkgroupArn, Name: r.wg.WorkgroupName, IdentityNamespace: r.app.IdentityNamespace})
		v, aead, err := i.Keys.CurrentAEAD(ctx, keyring.ID{Account: req.Scope.Account, Region: req.Scope.Region, WorkgroupID: r.wg.WorkgroupId})
		if errors.Is(err, keyring.ErrNoKeyring) {
			// Deleted after check 7 read it: answer as check 7 would now.
			return Result{}, i.noKeys(ctx, req.Scope, r.wg.WorkgroupName, err)
		}
		if err != nil {
			return Result{}, err
		}
		keys = append(keys, authtoken.WorkgroupKey{WorkgroupID: r.wg.WorkgroupId, Version: v, AEAD: aead})
	}
	tok, err := authtoken.Seal(c, keys, i.random())
	if err != nil {
		return Result{}, err
	}
	return Result{Token: tok, Expires: exp, Claims: c}, nil
}

// noKeys explains a workgroup whose ring is gone at sealing time.
func (i *Issuer) noKeys(ctx context.Context, scope serverless.Scope, name string, cause error) error {
	wg, err := i.Serverless.GetWorkgroup(ctx, scope, name)
	if err != nil {
		return err
	}
	if wg.Status == serverless.StatusAvailable {
		return cause // a live workgroup without keys: internal, logged
	}
	return notAvailable(wg)
}

// notAvailable is check 7's answer for a workgroup that is not AVAILABLE.
func notAvailable(wg serverless.Workgroup) error {
	return &serverless.Error{Kind: serverless.ErrConflict,
		Message: fmt.Sprintf("Workgroup %s is %s; it must be AVAILABLE to issue an Identity Center token.", wg.WorkgroupName, wg.Status)}
}

// KeysGone turns keyring.ErrNoKeyring from a key operation on workgroup
// name into what an AWS API would answer: ResourceNotFoundException once
// the workgroup is gone, ConflictException while it is DELETING (its keys
// are destroyed when its deletion begins and never made again, and AWS
// refuses changes to a workgroup in a transitional state with a
// ConflictException). Other errors are returned as they are.
func KeysGone(ctx context.Context, sl *serverless.Service, scope serverless.Scope, name string, cause error) error {
	if !errors.Is(cause, keyring.ErrNoKeyring) {
		return cause
	}
	wg, err := sl.GetWorkgroup(ctx, scope, name)
	if err != nil {
		return err
	}
	return KeysGoneFor(wg, cause)
}

// KeysGoneFor is KeysGone for a workgroup already read.
func KeysGoneFor(wg serverless.Workgroup, cause error) error {
	if wg.Status != serverless.StatusDeleting {
		return cause
	}
	return &serverless.Error{Kind: serverless.ErrConflict,
		Message: fmt.Sprintf("Workgroup %s is currently %s; its keys were destroyed when its deletion began.", wg.WorkgroupName, wg.Status)}
}

func (i *Issuer) random() io.Reader {
	if i.Rand != nil {
		return i.Rand
	}
	return rand.Reader
}

// Open opens token for one workgroup (by name) of scope: what the gateway
// does at login.
func (i *Issuer) Open(ctx context.Context, scope serverless.Scope, workgroupName, token string) (authtoken.Header, authtoken.Claims, error) {
	wg, err := i.Serverless.GetWorkgroup(ctx, scope, workgroupName)
	if err != nil {
		return authtoken.Header{}, authtoken.Claims{}, err
	}
	return authtoken.Open(token, wg.WorkgroupId, scope.Account, scope.Region, i.Clock.Now(), i.keyFunc(ctx, scope))
}

func (i *Issuer) keyFunc(ctx context.Context, scope serverless.Scope) authtoken.KeyFunc {
	return func(wgID string, v int) (cipher.AEAD, error) {
		return i.Keys.KeyAEAD(ctx, keyring.ID{Account: scope.Account, Region: scope.Region, WorkgroupID: wgID}, v)
	}
}

// Inspect opens token with the key of any workgroup of scope it names, for
// administrators; it reports the header even when the token does not open.
func (i *Issuer) Inspect(ctx context.Context, scope serverless.Scope, token string) (authtoken.Header, *authtoken.Claims, error) {
	h, _, _, err := authtoken.ParseHeader(token)
	if err != nil {
		return h, nil, err
	}
	var last error = authtoken.ErrForeignWorkgroup
	for _, k := range h.Keys {
		_, c, err := authtoken.Open(token, k.WorkgroupID, scope.Account, scope.Region, i.Clock.Now(), i.keyFunc(ctx, scope))
		if err == nil || errors.Is(err, authtoken.ErrExpired) {
			return h, &c, err
		}
		last = err
	}
	return h, nil, last
}

// problems says why Inspect could not open a token, in the words
// InspectToken answers; walked in order with errors.Is, so narrower
// sentinels come first (another region is also another account; a key the
// keyring refuses is also an unavailable key).
var problems = []struct {
	Sentinel error
	Problem  string
}{
	{Sentinel: authtoken.ErrExpired, Problem: "expired"},
	{Sentinel: authtoken.ErrWrongRegion, Problem: "issued in another region"},
	{Sentinel: authtoken.ErrWrongAccount, Problem: "issued by another account or region"},
	{Sentinel: authtoken.ErrForeignWorkgroup, Problem: "not issued for this workgroup"},
	{Sentinel: authtoken.ErrTampered, Problem: "authentication failed"},
	{Sentinel: keyring.ErrRetired, Problem: "workgroup key version unavailable: keyring: key version retired"},
	{Sentinel: keyring.ErrNoVersion, Problem: "workgroup key version unavailable: keyring: no such key version"},
	{Sentinel: keyring.ErrNoKeyring, Problem: "workgroup key version unavailable: keyring: no keys for this workgroup"},
	{Sentinel: authtoken.ErrKeyUnavailable, Problem: "workgroup key version unavailable"},
	{Sentinel: authtoken.ErrTruncated, Problem: "truncated"},
	{Sentinel: authtoken.ErrMalformed, Problem: "malformed"},
}

// Problem names why an Inspect error kept the token closed; ok is false for
// an error that is not a refusal of the token (a store failure), whose
// text is for the log only.
func Problem(err error) (problem string, ok bool) {
	for _, p := range problems {
		if errors.Is(err, p.Sentinel) {
			return p.Problem, true
		}
	}
	return "", false
}
