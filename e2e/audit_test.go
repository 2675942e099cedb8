package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/audit/journal"
	"github.com/idcgate/idcgate/internal/audit/query"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/masterkey"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// auditCall is one call the coverage test made, and what its record must say.
type auditCall struct {
	label, reqID, source, name, errCode string
	check                               func(t *testing.T, r audit.Record)
}

// auditTracker learns each SDK call's request id from the response itself
// (a middleware next to the transport), so records are matched per call.
type auditTracker struct {
	t     *testing.T
	last  string
	calls []auditCall
}

func (tr *auditTracker) config(srv *testserver.Server, creds aws.Credentials) aws.Config {
	cfg := srv.Config(creds)
	cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
		return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("auditRequestID",
			func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleDeserialize(ctx, in)
				if resp, ok := out.RawResponse.(*smithyhttp.Response); ok {
					tr.last = resp.Header.Get("X-Amzn-Requestid")
				}
				return out, md, err
			}), middleware.After)
	})
	return cfg
}

// add records the call just made: err must be wantErr's code (or nil).
func (tr *auditTracker) add(label, source, name, wantErr string, err error, check func(*testing.T, audit.Record)) {
	tr.t.Helper()
	var ae smithy.APIError
	switch {
	case wantErr == "" && err != nil:
		tr.t.Fatalf("%s: %v", label, err)
	case wantErr != "" && (!errors.As(err, &ae) || ae.ErrorCode() != wantErr):
		tr.t.Fatalf("%s: want %s, got %v", label, wantErr, err)
	case tr.last == "":
		tr.t.Fatalf("%s: no request id", label)
	}
	tr.calls = append(tr.calls, auditCall{label, tr.last, source, name, wantErr, check})
	tr.last = ""
}

// admin makes a raw administrator call.
func (tr *auditTracker) admin(srv *testserver.Server, creds aws.Credentials, op, body, wantErr string, check func(*testing.T, audit.Record)) map[string]any {
	tr.t.Helper()
	r := srv.CallAdmin(tr.t, creds, op, []byte(body))
	if (wantErr == "") != (r.Status == 200) || (wantErr != "" && r.Header.Get("X-Amzn-ErrorType") != wantErr) {
		tr.t.Fatalf("%s: %d %s", op, r.Status, r.Body)
	}
	tr.calls = append(tr.calls, auditCall{op, r.Header.Get("X-Amzn-Requestid"), "idcgate.amazonaws.com", op, wantErr, check})
	return r.JSON(tr.t)
}

const (
	srcServerless = "redshift-serverless.amazonaws.com"
	srcSTS        = "sts.amazonaws.com"
	srcOIDC       = "sso-oauth.amazonaws.com"
	srcRedshift   = "redshift.amazonaws.com"
	srcAdmin      = "idcgate.amazonaws.com"
)

func param(r audit.Record, k string) any { return r.RequestParameters[k] }

// TestAuditEveryOperation drives every operation of every service once or
// more, each call distinct, and checks per request id that there is
// exactly one record, with the right source, name, identity, parameters
// (secrets hidden) and error code; and that there is no other record.
func TestAuditEveryOperation(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	pg.CreateDatabase(t, "dev")
	pg.Exec(t, "dev", `CREATE ROLE "AWSIDC:analysts" NOLOGIN`)
	srv := testserver.Start(t, testserver.Options{Edit: tokenWorld(func(c *config.Config) {
		c.PGUpstream = pg.TLSDSN("dev")
		c.Serverless.TransitionDelay = &config.Duration{}
	})})
	srv.TrustUpstreamCA(t, pg)
	ctx := context.Background()
	logPath := filepath.Join(srv.DataDir, "audit.log")
	before := auditRecords(t, srv.DataDir)
	tr := &auditTracker{t: t}
	root := func(t *testing.T, r audit.Record) {
		u := r.UserIdentity
		if u.Type != "Root" || u.ARN != "arn:aws:iam::123456789012:root" || u.AccountID != testserver.Account ||
			u.AccessKeyID != srv.Admin.AccessKeyID || u.PrincipalID == "" || u.OnBehalfOf != nil || r.RecipientAccountID != testserver.Account {
			t.Errorf("root identity %+v", u)
		}
	}
	appUser := func(t *testing.T, r audit.Record) {
		u := r.UserIdentity
		if u.Type != "IAMUser" || u.UserName != "app" || u.ARN != "arn:aws:iam::123456789012:user/app" || u.AccessKeyID != testserver.AppKeyID ||
			!strings.HasPrefix(u.PrincipalID, "AIDA") || u.OnBehalfOf != nil {
			t.Errorf("app identity %+v", u)
		}
	}
	both := func(fs ...func(*testing.T, audit.Record)) func(*testing.T, audit.Record) {
		return func(t *testing.T, r audit.Record) {
			for _, f := range fs {
				f(t, r)
			}
		}
	}
	params := func(want map[string]any) func(*testing.T, audit.Record) {
		return func(t *testing.T, r audit.Record) {
			for k, v := range want {
				if fmt.Sprint(param(r, k)) != fmt.Sprint(v) {
					t.Errorf("requestParameters.%s = %v, want %v (all: %v)", k, param(r, k), v, r.RequestParameters)
				}
			}
		}
	}
	hidden := func(keys ...string) func(*testing.T, audit.Record) {
		want := map[string]any{}
		for _, k := range keys {
			want[k] = audit.Hidden
		}
		return params(want)
	}

	// The identity flow, step by step, each step audited.
	adminCfg, appCfg := tr.config(srv, srv.Admin), tr.config(srv, srv.App)
	jwtOut := tr.admin(srv, srv.Admin, "IssueTestToken", `{"userName":"alice","audience":"idcgate-demo","ttlSeconds":600}`, "",
		both(root, params(map[string]any{"userName": "alice", "audience": "idcgate-demo"})))
	jwtText := jwtOut["token"].(string)
	oidcApp := ssooidc.NewFromConfig(appCfg)
	_, err := oidcApp.CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(testserver.ApplicationArn),
		GrantType: aws.String(testserver.JWTBearer), Assertion: aws.String(jwtText[:len(jwtText)-4] + "AAAA")})
	tr.add("CreateTokenWithIAM refused", srcOIDC, "CreateTokenWithIAM", "InvalidGrantException", err, both(appUser, hidden("assertion")))
	tokOut, err := oidcApp.CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{ClientId: aws.String(testserver.ApplicationArn),
		GrantType: aws.String(testserver.JWTBearer), Assertion: aws.String(jwtText)})
	tr.add("CreateTokenWithIAM", srcOIDC, "CreateTokenWithIAM", "", err,
		both(appUser, hidden("assertion"), params(map[string]any{"clientId": testserver.ApplicationArn, "grantType": testserver.JWTBearer})))
	idClaims := testserver.IDTokenClaims(t, aws.ToString(tokOut.IdToken))
	aliceID := idClaims["sub"].(string)
	assumeIn := &sts.AssumeRoleInput{RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("alice"),
		ProvidedContexts: []ststypes.ProvidedContext{{ProviderArn: aws.String(testserver.ContextProvider), ContextAssertion: aws.String(idClaims["sts:identity_context"].(string))}}}
	_, err = sts.NewFromConfig(adminCfg).AssumeRole(ctx, assumeIn)
	tr.add("AssumeRole as root", srcSTS, "AssumeRole", "AccessDenied", err, root)
	ar, err := sts.NewFromConfig(appCfg).AssumeRole(ctx, assumeIn)
	tr.add("AssumeRole", srcSTS, "AssumeRole", "", err,
		both(appUser, hidden("ProvidedContexts.member.1.ContextAssertion"), params(map[string]any{"RoleArn": testserver.AnalystRoleArn, "RoleSessionName": "alice"})))
	alice := aws.Credentials{AccessKeyID: aws.ToString(ar.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(ar.Credentials.SecretAccessKey),
		SessionToken: aws.ToString(ar.Credentials.SessionToken)}
	aliceSession := func(t *testing.T, r audit.Record) {
		u := r.UserIdentity
		if u.Type != "AssumedRole" || u.ARN != "arn:aws:sts::123456789012:assumed-role/analyst/alice" || u.AccessKeyID != alice.AccessKeyID ||
			!strings.HasPrefix(u.PrincipalID, "AROA") || !strings.HasSuffix(u.PrincipalID, ":alice") ||
			u.OnBehalfOf == nil || u.OnBehalfOf.UserID != aliceID || !strings.HasPrefix(u.OnBehalfOf.IdentityStoreArn, "arn:aws:identitystore::") {
			t.Errorf("alice's identity-enhanced session %+v (onBehalfOf %+v), want userId %s", u, u.OnBehalfOf, aliceID)
		}
	}
	aliceCfg := tr.config(srv, alice)
	_, err = sts.NewFromConfig(aliceCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	tr.add("GetCallerIdentity", srcSTS, "GetCallerIdentity", "", err, aliceSession)
	_, err = sts.NewFromConfig(appCfg).GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	tr.add("GetSessionToken", srcSTS, "GetSessionToken", "", err, both(appUser, params(map[string]any{"DurationSeconds": 900})))
	_, err = sts.NewFromConfig(adminCfg).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(testserver.AppKeyID)})
	tr.add("GetAccessKeyInfo", srcSTS, "GetAccessKeyInfo", "", err, both(root, params(map[string]any{"AccessKeyId": testserver.AppKeyID})))
	// Web identity: the caller is the token's subject, never the token.
	provider, err := iam.NewFromConfig(adminCfg).CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(srv.Instance.PublicURL + "/idp"), ClientIDList: []string{"idcgate-demo"}})
	tr.add("CreateOpenIDConnectProvider", "iam.amazonaws.com", "CreateOpenIDConnectProvider", "", err, root)
	anonCfg := tr.config(srv, aws.Credentials{})
	anonCfg.Credentials = aws.AnonymousCredentials{}
	_, err = sts.NewFromConfig(anonCfg).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(testserver.AnalystRoleArn),
		RoleSessionName: aws.String("ci"), WebIdentityToken: aws.String(jwtText)})
	tr.add("AssumeRoleWithWebIdentity", srcSTS, "AssumeRoleWithWebIdentity", "AccessDenied", err, both(hidden("WebIdentityToken"), func(t *testing.T, r audit.Record) {
		u, arn := r.UserIdentity, aws.ToString(provider.OpenIDConnectProviderArn)
		if u.Type != "WebIdentityUser" || u.UserName != "alice" || u.IdentityProvider != arn || u.PrincipalID != arn+":idcgate-demo:alice" ||
			u.ARN != "" || u.AccessKeyID != "" || r.RecipientAccountID != testserver.Account {
			t.Errorf("web identity %+v", u)
		}
	}))

	// Every Redshift Serverless operation.
	sl, slApp, slAlice := redshiftserverless.NewFromConfig(adminCfg), redshiftserverless.NewFromConfig(appCfg), redshiftserverless.NewFromConfig(aliceCfg)
	password := "Sup3rSecretPassw0rd"
	_, err = sl.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("audited"),
		AdminUsername: aws.String("admin"), AdminUserPassword: aws.String(password)})
	tr.add("CreateNamespace", srcServerless, "CreateNamespace", "", err,
		both(root, hidden("adminUserPassword"), params(map[string]any{"namespaceName": "audited", "adminUsername": "admin"})))
	_, err = sl.CreateNamespace(ctx, &redshiftserverless.CreateNamespaceInput{NamespaceName: aws.String("audited")})
	tr.add("CreateNamespace again", srcServerless, "CreateNamespace", "ConflictException", err, root)
	_, err = sl.GetNamespace(ctx, &redshiftserverless.GetNamespaceInput{NamespaceName: aws.String("audited")})
	tr.add("GetNamespace", srcServerless, "GetNamespace", "", err, both(root, params(map[string]any{"namespaceName": "audited"})))
	_, err = sl.ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{MaxResults: aws.Int32(2)})
	tr.add("ListNamespaces", srcServerless, "ListNamespaces", "", err, both(root, params(map[string]any{"maxResults": 2})))
	_, err = sl.UpdateNamespace(ctx, &redshiftserverless.UpdateNamespaceInput{NamespaceName: aws.String("audited"), KmsKeyId: aws.String("k")})
	tr.add("UpdateNamespace", srcServerless, "UpdateNamespace", "", err, both(root, params(map[string]any{"kmsKeyId": "k"})))
	_, err = sl.CreateWorkgroup(ctx, &redshiftserverless.CreateWorkgroupInput{WorkgroupName: aws.String("audited-wg"), NamespaceName: aws.String("audited"), BaseCapacity: aws.Int32(8)})
	tr.add("CreateWorkgroup", srcServerless, "CreateWorkgroup", "", err,
		both(root, params(map[string]any{"workgroupName": "audited-wg", "namespaceName": "audited", "baseCapacity": 8})))
	_, err = sl.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("audited-wg")})
	tr.add("GetWorkgroup", srcServerless, "GetWorkgroup", "", err, both(root, params(map[string]any{"workgroupName": "audited-wg"})))
	_, err = sl.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("no-such-wg")})
	tr.add("GetWorkgroup missing", srcServerless, "GetWorkgroup", "ResourceNotFoundException", err, root)
	_, err = sl.ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{})
	tr.add("ListWorkgroups", srcServerless, "ListWorkgroups", "", err, root)
	_, err = slApp.ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{})
	tr.add("ListWorkgroups denied", srcServerless, "ListWorkgroups", "AccessDeniedException", err, appUser)
	_, err = sl.UpdateWorkgroup(ctx, &redshiftserverless.UpdateWorkgroupInput{WorkgroupName: aws.String("audited-wg"), BaseCapacity: aws.Int32(16)})
	tr.add("UpdateWorkgroup", srcServerless, "UpdateWorkgroup", "", err, both(root, params(map[string]any{"baseCapacity": 16})))
	_, err = sl.DeleteWorkgroup(ctx, &redshiftserverless.DeleteWorkgroupInput{WorkgroupName: aws.String("audited-wg")})
	tr.add("DeleteWorkgroup", srcServerless, "DeleteWorkgroup", "", err, root)
	_, err = sl.DeleteNamespace(ctx, &redshiftserverless.DeleteNamespaceInput{NamespaceName: aws.String("audited")})
	tr.add("DeleteNamespace", srcServerless, "DeleteNamespace", "", err, root)
	tok, err := slAlice.GetIdentityCenterAuthToken(ctx, &redshiftserverless.GetIdentityCenterAuthTokenInput{WorkgroupNames: []string{"demo"}})
	tr.add("GetIdentityCenterAuthToken", srcServerless, "GetIdentityCenterAuthToken", "", err,
		both(aliceSession, params(map[string]any{"workgroupNames": "[demo]"})))
	_, err = sl.GetIdentityCenterAuthToken(ctx, &redshiftserverless.GetIdentityCenterAuthTokenInput{WorkgroupNames: []string{"demo"}})
	tr.add("GetIdentityCenterAuthToken as root", srcServerless, "GetIdentityCenterAuthToken", "AccessDeniedException", err, root)
	unknown := tr.config(srv, aws.Credentials{AccessKeyID: "AKIAI44QH8DHBEXAMPLE", SecretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"})
	_, err = redshiftserverless.NewFromConfig(unknown).ListNamespaces(ctx, &redshiftserverless.ListNamespacesInput{})
	tr.add("unknown access key", srcServerless, "ListNamespaces", "UnrecognizedClientException", err, func(t *testing.T, r audit.Record) {
		if r.UserIdentity.Type != "Unknown" || r.UserIdentity.OnBehalfOf != nil {
			t.Errorf("unauthenticated identity %+v", r.UserIdentity)
		}
	})

	// The Redshift IdC application operations.
	rs := redshift.NewFromConfig(adminCfg)
	app, err := rs.CreateRedshiftIdcApplication(ctx, &redshift.CreateRedshiftIdcApplicationInput{
		IdcInstanceArn: aws.String("arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"), RedshiftIdcApplicationName: aws.String("audited"),
		IdcDisplayName: aws.String("A"), IamRoleArn: aws.String(testserver.AnalystRoleArn)})
	tr.add("CreateRedshiftIdcApplication", srcRedshift, "CreateRedshiftIdcApplication", "", err,
		both(root, params(map[string]any{"RedshiftIdcApplicationName": "audited"})))
	_, err = rs.DescribeRedshiftIdcApplications(ctx, &redshift.DescribeRedshiftIdcApplicationsInput{})
	tr.add("DescribeRedshiftIdcApplications", srcRedshift, "DescribeRedshiftIdcApplications", "", err, root)
	_, err = rs.ModifyRedshiftIdcApplication(ctx, &redshift.ModifyRedshiftIdcApplicationInput{
		RedshiftIdcApplicationArn: app.RedshiftIdcApplication.RedshiftIdcApplicationArn, IdcDisplayName: aws.String("B")})
	tr.add("ModifyRedshiftIdcApplication", srcRedshift, "ModifyRedshiftIdcApplication", "", err,
		both(root, params(map[string]any{"IdcDisplayName": "B"})))
	_, err = rs.DeleteRedshiftIdcApplication(ctx, &redshift.DeleteRedshiftIdcApplicationInput{RedshiftIdcApplicationArn: app.RedshiftIdcApplication.RedshiftIdcApplicationArn})
	tr.add("DeleteRedshiftIdcApplication", srcRedshift, "DeleteRedshiftIdcApplication", "", err, root)

	// A gateway login with alice's token, and a refused one.
	token := aws.ToString(tok.Token)
	_, claims, err := srv.Instance.Issuer.Open(ctx, scope, "demo", token)
	if err != nil {
		t.Fatal(err)
	}
	c := gatewaySession(t, srv, token)
	c.Close(ctx)
	if _, err := connectGateway(t, srv, "IDC1.not-a-token", ""); err == nil {
		t.Fatal("gateway accepted a bad token")
	}

	// Every administrator operation.
	tokenJSON, _ := json.Marshal(map[string]string{"token": token})
	tr.admin(srv, srv.Admin, "InspectToken", string(tokenJSON), "", both(root, hidden("token")))
	tr.admin(srv, srv.Admin, "DescribeWorkgroupKeys", `{"workgroupName":"demo"}`, "", both(root, params(map[string]any{"workgroupName": "demo"})))
	tr.admin(srv, srv.Admin, "RotateWorkgroupKey", `{"workgroupName":"demo"}`, "", root)
	tr.admin(srv, srv.Admin, "RetireWorkgroupKeys", `{"workgroupName":"demo","minVersion":1}`, "", both(root, params(map[string]any{"minVersion": 1})))
	tr.admin(srv, srv.Admin, "SetFaults", `{"rules":[{"operation":"NoSuchOperation","error":"InternalServerException","rate":1}]}`, "",
		func(t *testing.T, r audit.Record) {
			rules, _ := param(r, "rules").([]any)
			if len(rules) != 1 || rules[0].(map[string]any)["operation"] != "NoSuchOperation" {
				t.Errorf("SetFaults parameters %v", r.RequestParameters)
			}
		})
	tr.admin(srv, srv.Admin, "GetFaults", `{}`, "", root)
	tr.admin(srv, srv.Admin, "SetFaults", `{"rules":[]}`, "", root)
	tr.admin(srv, srv.Admin, "LookupEvents", `{"maxResults":5,"eventName":"AssumeRole"}`, "", both(root, params(map[string]any{"eventName": "AssumeRole"})))
	tr.admin(srv, srv.App, "GetFaults", `{}`, "AccessDeniedException", appUser)

	// Every call has exactly one record, in the file and in the store.
	all := auditRecords(t, srv.DataDir)
	recs := all[len(before):]
	byReq := map[string][]audit.Record{}
	var logins []audit.Record
	for _, r := range recs {
		if r.EventID == "" || r.EventTime.IsZero() || r.EventVersion != "1.09" || r.AWSRegion != "us-east-1" || r.SourceIPAddress != "127.0.0.1" {
			t.Errorf("incomplete record %+v", r)
		}
		if r.EventSource == "gateway.idcgate" {
			logins = append(logins, r)
			continue
		}
		byReq[r.RequestID] = append(byReq[r.RequestID], r)
	}
	for _, c := range tr.calls {
		got := byReq[c.reqID]
		if len(got) != 1 {
			t.Errorf("%s (%s): %d records", c.label, c.reqID, len(got))
			continue
		}
		r := got[0]
		if r.EventSource != c.source || r.EventName != c.name || r.ErrorCode != c.errCode {
			t.Errorf("%s: record %s %s error %q, want %s %s error %q", c.label, r.EventSource, r.EventName, r.ErrorCode, c.source, c.name, c.errCode)
		}
		if r.ReadOnly != (strings.HasPrefix(c.name, "Get") || strings.HasPrefix(c.name, "List") || strings.HasPrefix(c.name, "Describe") ||
			c.name == "LookupEvents" || c.name == "InspectToken") {
			t.Errorf("%s: readOnly %v", c.label, r.ReadOnly)
		}
		if c.errCode != "" && r.ErrorMessage == "" {
			t.Errorf("%s: failure without errorMessage", c.label)
		}
		if c.check != nil {
			t.Run(c.label, func(t *testing.T) { c.check(t, r) })
		}
	}
	if len(byReq) != len(tr.calls) {
		t.Errorf("%d API records for %d calls", len(byReq), len(tr.calls))
	}
	if len(logins) != 2 {
		t.Fatalf("%d gateway login records, want 2: %+v", len(logins), logins)
	}
	slices.SortFunc(logins, func(a, b audit.Record) int { return strings.Compare(a.ErrorCode, b.ErrorCode) })
	ok, refused := logins[0], logins[1]
	if u := ok.UserIdentity; ok.ErrorCode != "" || u.UserName != "alice" || u.OnBehalfOf == nil || u.OnBehalfOf.UserID != aliceID ||
		param(ok, "tokenId") != claims.TokenID || param(ok, "workgroupName") != "demo" || ok.RequestID == "" {
		t.Errorf("gateway login record %+v (identity %+v)", ok, u)
	}
	if refused.ErrorCode == "" || refused.RequestID == "" || refused.RequestID == ok.RequestID {
		t.Errorf("refused gateway login record %+v", refused)
	}

	// The store holds the same records (by event id), nothing more.
	fileIDs := map[string]bool{}
	for _, r := range recs {
		fileIDs[r.EventID] = true
	}
	storeIDs := map[string]bool{}
	for _, r := range opsStoreRecords(t, srv) {
		storeIDs[r.EventID] = true
	}
	for id := range fileIDs {
		if !storeIDs[id] {
			t.Errorf("record %s is in the file, not in the store", id)
		}
	}
	if n := len(storeIDs); n != len(all) {
		t.Errorf("store holds %d records, the file %d", n, len(all))
	}
	if p, _ := journal.Pending(ctx, srv.Instance.Store); len(p) != 0 {
		t.Errorf("%d journal entries left after every call completed", len(p))
	}

	// No secret, key, token or password in any record, in the file or the store.
	raw, _ := os.ReadFile(logPath)
	var storedText strings.Builder
	for _, r := range opsStoreRecords(t, srv) {
		b, _ := json.Marshal(r)
		storedText.Write(b)
	}
	secrets := map[string]string{
		"admin secret key": srv.Admin.SecretAccessKey, "app secret key": testserver.AppSecretKey,
		"session secret": alice.SecretAccessKey, "session token": alice.SessionToken[:40],
		"auth token": token[:40], "IdP JWT": jwtText[:40], "password": password,
		"idToken": aws.ToString(tokOut.IdToken)[:40], "access token": aws.ToString(tokOut.AccessToken)[:40],
		"refresh token": aws.ToString(tokOut.RefreshToken)[:40], "context assertion": idClaims["sts:identity_context"].(string)[:40],
	}
	if mk, err := os.ReadFile(filepath.Join(srv.DataDir, masterkey.FileName)); err == nil {
		secrets["master key"] = strings.TrimSpace(string(mk))
	}
	for name, s := range secrets {
		if strings.Contains(string(raw), s) || strings.Contains(storedText.String(), s) {
			t.Errorf("%s appears in the audit trail", name)
		}
	}
}

// opsStoreRecords reads every record of the store's audit trail, page by page.
// opsStoreRecords reads srv's store copy of the trail, after the copies of
// every record written so far (the embedded store's copy is committed
// behind the file).
// flushAudit waits for srv's store copy of the trail to catch up.
func flushAudit(t *testing.T, srv *testserver.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Instance.Audit.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func opsStoreRecords(t *testing.T, srv *testserver.Server) []audit.Record {
	t.Helper()
	flushAudit(t, srv)
	st := srv.Instance.Store
	var out []audit.Record
	after := ""
	for {
		page, last, err := query.Lookup(context.Background(), st, query.Filter{After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			var r audit.Record
			if err := json.Unmarshal(e, &r); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		if len(page) < query.MaxLookup {
			return out
		}
		after = last
	}
}

func opsLines(t *testing.T, out []byte) []audit.Record {
	t.Helper()
	var recs []audit.Record
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l == "" {
			continue
		}
		var r audit.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("not a record: %q", l)
		}
		recs = append(recs, r)
	}
	return recs
}

// audit tail prints the latest N records (default 50), filters by user and
// event, and --follow prints new records as they come until interrupted.
func TestAuditTailCLI(t *testing.T) {
	t.Parallel()
	p := testserver.StartProcess(t, testserver.Options{})
	ctx := context.Background()
	p.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	c := p.Serverless(p.Admin)
	var last string
	for i := 0; i < 60; i++ {
		out, err := c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")})
		if err != nil {
			t.Fatal(err)
		}
		last, _ = opsRequestID(out.ResultMetadata)
	}
	run := func(args ...string) []audit.Record {
		t.Helper()
		out, err := adminCmd(t, p, append([]string{"audit", "tail"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("audit tail %v: %v %s", args, err, out)
		}
		return opsLines(t, out)
	}
	recs := run()
	if len(recs) != 50 || recs[49].RequestID != last || recs[0].EventName != "GetWorkgroup" {
		t.Fatalf("audit tail: %d records, last %q (want the latest 50, ending with %s)", len(recs), recs[len(recs)-1].RequestID, last)
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].EventTime.Before(recs[i-1].EventTime) {
			t.Fatalf("records out of order at %d", i)
		}
	}
	if recs := run("--max", "3", "--event", "GetWorkgroup"); len(recs) != 3 || recs[2].RequestID != last {
		t.Fatalf("--max 3: %d records", len(recs))
	}
	if recs := run("--event", "AssumeRole"); len(recs) != 1 || recs[0].UserIdentity.UserName != "app" {
		t.Fatalf("--event AssumeRole: %+v", recs)
	}
	if recs := run("--user", "app"); len(recs) != 2 || recs[0].EventName != "CreateTokenWithIAM" || recs[1].EventName != "AssumeRole" {
		t.Fatalf("--user app: %+v", recs)
	}
	if out, err := adminCmd(t, p, "audit", "tail", "--max", "0").CombinedOutput(); err == nil || !strings.Contains(string(out), "--max") {
		t.Fatalf("--max 0: %v %s", err, out)
	}

	// --follow: the latest, then each new record once; SIGINT ends it (0).
	first, err := c.ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	firstID, _ := opsRequestID(first.ResultMetadata)
	cmd := adminCmd(t, p, "audit", "tail", "--follow", "--max", "1", "--event", "ListWorkgroups")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if l := receiveWithin(t, lines, 20*time.Second, "audit tail --follow printed nothing"); !strings.Contains(l, firstID) {
		t.Fatalf("first line %q, want the latest ListWorkgroups %s", l, firstID)
	}
	want := map[string]bool{}
	for i := 0; i < 3; i++ {
		out, err := c.ListWorkgroups(ctx, &redshiftserverless.ListWorkgroupsInput{})
		if err != nil {
			t.Fatal(err)
		}
		id, _ := opsRequestID(out.ResultMetadata)
		want[id] = true
		c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")}) // filtered out
	}
	got := map[string]int{}
	deadline := time.After(20 * time.Second)
	for len(got) < len(want) {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("audit tail --follow ended: %v", cmd.Wait())
			}
			var r audit.Record
			if err := json.Unmarshal([]byte(l), &r); err != nil || r.EventName != "ListWorkgroups" {
				t.Fatalf("followed line %q", l)
			}
			got[r.RequestID]++
		case <-deadline:
			t.Fatalf("followed %v, want %v", got, want)
		}
	}
	for id := range want {
		if got[id] != 1 {
			t.Fatalf("record %s printed %d times", id, got[id])
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	for l := range lines {
		t.Fatalf("line after the calls: %s", l)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("audit tail --follow after SIGINT: %v", err)
	}
}

// opsRequestID is the request id of an SDK call's response.
func opsRequestID(md middleware.Metadata) (string, bool) {
	return awsmiddleware.GetRequestIDMetadata(md)
}
