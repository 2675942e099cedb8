package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/redshift"
	rstypes "github.com/aws/aws-sdk-go-v2/service/redshift/types"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	admintypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/testserver"
)

// driverLogin speaks the Redshift drivers' Identity Center exchange byte
// for byte (driverExchange) and fails the test on anything but a login or
// a refusal. It returns the connection after ReadyForQuery with the
// ParameterStatus values it was sent, or the refusal.
func driverLogin(t *testing.T, addr, sni string, params map[string]string, token string, nul bool) (net.Conn, map[string]string, *pgproto3.ErrorResponse) {
	t.Helper()
	conn, status, refusal, err := driverExchange(addr, sni, params, token, nul)
	if err != nil {
		t.Fatal(err)
	}
	if conn != nil {
		t.Cleanup(func() { conn.Close() })
	}
	return conn, status, refusal
}

// driverExchange is the Redshift drivers' Identity Center exchange: TLS
// with server name sni (may be empty), startup with idp_type and the extra
// params (token_type, workgroup, ...), 'R' code 14 without payload, 'i'
// with the token (with or without the trailing NUL). It returns the
// connection after ReadyForQuery with the ParameterStatus values, or the
// refusal; err is anything a gateway must not do.
func driverExchange(addr, sni string, params map[string]string, token string, nul bool) (_ net.Conn, status map[string]string, _ *pgproto3.ErrorResponse, err error) {
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, nil, err
	}
	defer func() {
		if err != nil || status == nil {
			raw.Close()
		}
	}()
	raw.SetDeadline(time.Now().Add(30 * time.Second))
	conn, err := startTLS(raw, sni)
	if err != nil {
		return nil, nil, nil, err
	}
	p := map[string]string{
		"user": "", "database": "dev", "application_name": "redshift_connector", "client_protocol_version": "2",
		"driver_version": "Redshift Python Driver 2.1.5", "plugin_name": "redshift_connector.plugin.IdpTokenAuthPlugin",
		"idp_type": "AwsIdc",
	}
	for k, v := range params {
		p[k] = v
	}
	startup, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: p}).Encode(nil)
	if _, err := conn.Write(startup); err != nil {
		return nil, nil, nil, err
	}
	var r14 [9]byte
	if _, err := io.ReadFull(conn, r14[:]); err != nil {
		return nil, nil, nil, err
	}
	if !bytes.Equal(r14[:], []byte{'R', 0, 0, 0, 8, 0, 0, 0, 14}) {
		return nil, nil, nil, fmt.Errorf("auth request %v, want R/8/14 with no payload", r14)
	}
	body := []byte(token)
	if nul {
		body = append(body, 0)
	}
	msg := []byte{'i', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(msg[1:], uint32(4+len(body)))
	conn.Write(append(msg, body...))
	fe := pgproto3.NewFrontend(conn, conn)
	got := map[string]string{}
	for first := true; ; first = false {
		m, err := fe.Receive()
		if err != nil {
			return nil, nil, nil, err
		}
		switch m := m.(type) {
		case *pgproto3.ErrorResponse:
			if strings.Contains(m.Message, "password") {
				return nil, nil, nil, fmt.Errorf("a token sent in an 'i' message called a password: %q", m.Message)
			}
			return nil, nil, m, nil
		case *pgproto3.AuthenticationOk:
			if !first {
				return nil, nil, nil, errors.New("AuthenticationOk not first")
			}
		case *pgproto3.ReadyForQuery:
			return conn, got, nil, nil
		case *pgproto3.ParameterStatus:
			got[m.Name] = m.Value
		case *pgproto3.BackendKeyData:
			if len(m.SecretKey) != 4 {
				return nil, nil, nil, fmt.Errorf("BackendKeyData secret %d bytes, want 4 (12-byte message)", len(m.SecretKey))
			}
		default:
			if first {
				return nil, nil, nil, fmt.Errorf("%T before AuthenticationOk", m)
			}
		}
	}
}

// driverWho is current_user of a session driverLogin opened.
func driverWho(t *testing.T, conn net.Conn) string {
	t.Helper()
	fe := pgproto3.NewFrontend(conn, conn)
	fe.Send(&pgproto3.Query{String: "SELECT current_user"})
	fe.Flush()
	who := ""
	gmUntilReady(t, fe, func(d *pgproto3.DataRow) { who = string(d.Values[0]) })
	return who
}

// wantDriverLogin logs in and checks the session's role.
func wantDriverLogin(t *testing.T, addr, sni string, params map[string]string, token string, nul bool, role string) {
	t.Helper()
	conn, _, e := driverLogin(t, addr, sni, params, token, nul)
	if e != nil {
		t.Fatalf("refused: %s %s", e.Code, e.Message)
	}
	defer conn.Close()
	if who := driverWho(t, conn); who != role {
		t.Fatalf("current_user %q, want %q", who, role)
	}
}

// wantDriverRefusal logs in and checks the refusal's SQLSTATE and text.
func wantDriverRefusal(t *testing.T, addr, sni string, params map[string]string, token, code, msg string) {
	t.Helper()
	for _, nul := range []bool{true, false} {
		conn, _, e := driverLogin(t, addr, sni, params, token, nul)
		if e == nil {
			conn.Close()
			t.Fatalf("logged in; want %s %q", code, msg)
		}
		if e.Code != code || !strings.Contains(e.Message, msg) {
			t.Fatalf("refused %s %q; want %s %q", e.Code, e.Message, code, msg)
		}
	}
}

// accessTokenFor is user's access token from CreateTokenWithIAM (the
// example's application, with the built-in IdP's JWT), with scopes.
func accessTokenFor(t *testing.T, srv *testserver.Server, user string, scopes ...string) *ssooidc.CreateTokenWithIAMOutput {
	t.Helper()
	out, err := srv.OIDC(srv.App).CreateTokenWithIAM(context.Background(), &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(testserver.ApplicationArn), GrantType: aws.String(testserver.JWTBearer),
		Assertion: aws.String(srv.IdPToken(t, user, "idcgate-demo", 600)), Scope: scopes,
	})
	if err != nil {
		t.Fatalf("CreateTokenWithIAM for %s: %v", user, err)
	}
	return out
}

// idcAppArn is the ARN of the Redshift IdC application named name.
func idcAppArn(t testing.TB, srv *testserver.Server, name string) (arn, managed string) {
	t.Helper()
	for _, a := range idcApplications(t, srv) {
		if aws.ToString(a.RedshiftIdcApplicationName) == name {
			return aws.ToString(a.RedshiftIdcApplicationArn), aws.ToString(a.IdcManagedApplicationArn)
		}
	}
	t.Fatalf("no Redshift IdC application %s", name)
	return "", ""
}

// idcApplications are srv's Redshift IdC applications, as its
// administrator's DescribeRedshiftIdcApplications lists them.
func idcApplications(t testing.TB, srv *testserver.Server) []rstypes.RedshiftIdcApplication {
	t.Helper()
	out, err := srv.Redshift(srv.Admin).DescribeRedshiftIdcApplications(context.Background(), &redshift.DescribeRedshiftIdcApplicationsInput{})
	if err != nil {
		t.Fatal(err)
	}
	return out.RedshiftIdcApplications
}

// trustIssuers makes the Redshift IdC application arn accept the JWTs
// of the trusted token issuers named for audience aud
// (ModifyRedshiftIdcApplication; it replaces the application's list).
func trustIssuers(t testing.TB, srv *testserver.Server, arn, aud string, issuers ...string) {
	t.Helper()
	var list []rstypes.AuthorizedTokenIssuer
	for _, name := range issuers {
		list = append(list, rstypes.AuthorizedTokenIssuer{TrustedTokenIssuerArn: aws.String(issuerArn(t, srv, name)), AuthorizedAudiencesList: []string{aud}})
	}
	if _, err := srv.Redshift(srv.Admin).ModifyRedshiftIdcApplication(context.Background(), &redshift.ModifyRedshiftIdcApplicationInput{
		RedshiftIdcApplicationArn: aws.String(arn), AuthorizedTokenIssuerList: list}); err != nil {
		t.Fatal(err)
	}
}

// trustBuiltinIdP makes the Redshift IdC application arn accept the
// built-in IdP's JWTs (the example's trusted token issuer idcgate-idp)
// for audience aud.
func trustBuiltinIdP(t *testing.T, srv *testserver.Server, arn, aud string) {
	t.Helper()
	trustIssuers(t, srv, arn, aud, "idcgate-idp")
}

// gatedApplication makes a Redshift IdC application of identity namespace
// GATED whose managed application requires assignment and admits the
// analysts group only; it returns its ARN.
func gatedApplication(t *testing.T, srv *testserver.Server) string {
	t.Helper()
	ctx := context.Background()
	created, err := srv.Redshift(srv.Admin).CreateRedshiftIdcApplication(ctx, &redshift.CreateRedshiftIdcApplicationInput{
		IdcInstanceArn: aws.String(rsInstanceArn), RedshiftIdcApplicationName: aws.String("gated"), IdcDisplayName: aws.String("Gated"),
		IamRoleArn: aws.String(testserver.AnalystRoleArn), IdentityNamespace: aws.String("GATED"),
	})
	if err != nil {
		t.Fatal(err)
	}
	admitOnly(t, srv, aws.ToString(created.RedshiftIdcApplication.IdcManagedApplicationArn), "analysts")
	return aws.ToString(created.RedshiftIdcApplication.RedshiftIdcApplicationArn)
}

// admitOnly makes the managed application managed require assignment and
// assigns it the directory group named group.
func admitOnly(t *testing.T, srv *testserver.Server, managed, group string) {
	t.Helper()
	ctx := context.Background()
	sso := srv.SSOAdmin(srv.Admin)
	if _, err := sso.PutApplicationAssignmentConfiguration(ctx, &ssoadmin.PutApplicationAssignmentConfigurationInput{ApplicationArn: aws.String(managed), AssignmentRequired: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	g, err := srv.IdentityStore(srv.Admin).GetGroupId(ctx, &identitystore.GetGroupIdInput{IdentityStoreId: aws.String(storeID), AlternateIdentifier: &istypes.AlternateIdentifierMemberUniqueAttribute{
		Value: istypes.UniqueAttribute{AttributePath: aws.String("displayName"), AttributeValue: docString(group)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sso.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{ApplicationArn: aws.String(managed),
		PrincipalId: g.GroupId, PrincipalType: admintypes.PrincipalTypeGroup}); err != nil {
		t.Fatal(err)
	}
}

// newDirectoryUser makes a user by the Identity Store API, assigned to the
// example's application (so CreateTokenWithIAM serves her), and returns
// her id.
func newDirectoryUser(t *testing.T, srv *testserver.Server, name string) string {
	t.Helper()
	u, err := srv.IdentityStore(srv.Admin).CreateUser(context.Background(), &identitystore.CreateUserInput{IdentityStoreId: aws.String(storeID),
		UserName: aws.String(name), DisplayName: aws.String(name), Emails: []istypes.Email{{Value: aws.String(name + "@example.com"), Primary: true}}})
	if err != nil {
		t.Fatal(err)
	}
	assignToExampleApp(t, srv, aws.ToString(u.UserId))
	return aws.ToString(u.UserId)
}

func deleteDirectoryUser(t *testing.T, srv *testserver.Server, id string) {
	t.Helper()
	if _, err := srv.IdentityStore(srv.Admin).DeleteUser(context.Background(), &identitystore.DeleteUserInput{IdentityStoreId: aws.String(storeID), UserId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
}

var (
	accessTok = map[string]string{"token_type": "ACCESS_TOKEN", "workgroup": "demo"}
	extJWT    = map[string]string{"token_type": "EXT_JWT", "workgroup": "demo"}
)

// with is params and more.
func with(params map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range params {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestGatewayAccessToken: an SSO-OIDC access token with redshift:connect
// logs in through the drivers' exchange as "<namespace>:<user>"; each
// refusal names ACCESS_TOKEN, never a password (BEHAVIOUR 10.13).
func TestGatewayAccessToken(t *testing.T) {
	t.Parallel()
	srv, _ := gatewayWorld(t, nil)
	addr := srv.PGAddr()
	alice := accessTokenFor(t, srv, "alice", "redshift:connect")

	for _, nul := range []bool{true, false} {
		t.Run(fmt.Sprintf("trailing NUL %v", nul), func(t *testing.T) {
			wantDriverLogin(t, addr, "", accessTok, aws.ToString(alice.AccessToken), nul, "AWSIDC:alice")
		})
	}
	t.Run("workgroup from the server name", func(t *testing.T) {
		sni := serverless.EndpointAddress(serverless.Scope{Account: "123456789012", Region: "us-east-1"}, "demo")
		wantDriverLogin(t, addr, sni, map[string]string{"token_type": "access_token"}, aws.ToString(alice.AccessToken), true, "AWSIDC:alice")
	})
	t.Run("no scope asked: the application's scopes", func(t *testing.T) {
		wantDriverLogin(t, addr, "", accessTok, aws.ToString(accessTokenFor(t, srv, "bob").AccessToken), true, "AWSIDC:bob")
	})
	t.Run("without redshift:connect", func(t *testing.T) {
		tok := aws.ToString(accessTokenFor(t, srv, "alice", "sso:account:access").AccessToken)
		wantDriverRefusal(t, addr, "", accessTok, tok, "28000", "the ACCESS_TOKEN lacks the scope redshift:connect")
	})
	t.Run("not an access token", func(t *testing.T) {
		wantDriverRefusal(t, addr, "", accessTok, "aoa-not-a-token", "28P01", "the ACCESS_TOKEN is not a valid Identity Center token")
		wantDriverRefusal(t, addr, "", accessTok, aws.ToString(alice.RefreshToken), "28P01", "the ACCESS_TOKEN is not a valid Identity Center token")
		// A SUBJECT_TOKEN sent as an ACCESS_TOKEN.
		wantDriverRefusal(t, addr, "", accessTok, tokenFor(t, srv, "alice", "demo"), "28P01", "the ACCESS_TOKEN is not a valid Identity Center token")
	})
	t.Run("no workgroup", func(t *testing.T) {
		wantDriverRefusal(t, addr, "", map[string]string{"token_type": "ACCESS_TOKEN"}, aws.ToString(alice.AccessToken), "28000", "an ACCESS_TOKEN names no workgroup")
		wantDriverRefusal(t, addr, "", with(accessTok, "workgroup", "nope"), aws.ToString(alice.AccessToken), "28000", "workgroup nope does not exist")
	})
	t.Run("workgroup without Identity Center", func(t *testing.T) {
		wantDriverRefusal(t, addr, "", with(accessTok, "workgroup", "wg-plain"), aws.ToString(alice.AccessToken), "28P01", "does not have Identity Center integration enabled")
	})
	t.Run("unknown user", func(t *testing.T) {
		id := newDirectoryUser(t, srv, "frank")
		tok := aws.ToString(accessTokenFor(t, srv, "frank", "redshift:connect").AccessToken)
		deleteDirectoryUser(t, srv, id)
		wantDriverRefusal(t, addr, "", accessTok, tok, "28000", "of the ACCESS_TOKEN no longer exists")
	})
	t.Run("unknown token type", func(t *testing.T) {
		wantDriverRefusal(t, addr, "", with(accessTok, "token_type", "ID_TOKEN"), aws.ToString(alice.AccessToken), "28P01", "token_type is none of SUBJECT_TOKEN, ACCESS_TOKEN and EXT_JWT")
	})

	// identity_namespace picks another Redshift IdC application, whose
	// managed application admits the analysts only.
	gatedApplication(t, srv)
	gated := with(accessTok, "identity_namespace", "GATED")
	bob := aws.ToString(accessTokenFor(t, srv, "bob", "redshift:connect").AccessToken)
	t.Run("identity_namespace", func(t *testing.T) {
		wantDriverLogin(t, addr, "", gated, aws.ToString(alice.AccessToken), false, "GATED:alice")
		wantDriverRefusal(t, addr, "", with(accessTok, "identity_namespace", "NOPE"), aws.ToString(alice.AccessToken), "28000",
			`has the identity namespace "NOPE" that the startup's identity_namespace names`)
		// The default is still the workgroup's namespace's application.
		wantDriverLogin(t, addr, "", accessTok, bob, true, "AWSIDC:bob")
	})
	t.Run("not assigned to the managed application", func(t *testing.T) {
		wantDriverRefusal(t, addr, "", gated, bob, "28000", "the ACCESS_TOKEN's user bob is not assigned to")
	})
}

// TestGatewayExtJWT: an external IdP's JWT (the built-in IdP, a trusted
// token issuer) logs in when the workgroup's Redshift IdC application lists
// its issuer with its audience; each JWT once (BEHAVIOUR 10.13).
func TestGatewayExtJWT(t *testing.T) {
	t.Parallel()
	srv, _ := gatewayWorld(t, nil)
	addr := srv.PGAddr()
	demo, _ := idcAppArn(t, srv, "demo-idc")

	t.Run("issuer not listed", func(t *testing.T) {
		wantDriverRefusal(t, addr, "", extJWT, srv.IdPToken(t, "alice", "redshift-demo", 600), "28000",
			"the Redshift IdC application demo-idc trusts no token issuer (its AuthorizedTokenIssuerList is empty)")
	})
	trustBuiltinIdP(t, srv, demo, "redshift-demo")

	for _, nul := range []bool{true, false} {
		t.Run(fmt.Sprintf("trailing NUL %v", nul), func(t *testing.T) {
			wantDriverLogin(t, addr, "", extJWT, srv.IdPToken(t, "alice", "redshift-demo", 600), nul, "AWSIDC:alice")
		})
	}
	t.Run("used twice", func(t *testing.T) {
		jwt := srv.IdPToken(t, "bob", "redshift-demo", 600)
		wantDriverLogin(t, addr, "", extJWT, jwt, true, "AWSIDC:bob")
		wantDriverRefusal(t, addr, "", extJWT, jwt, "28P01", "the EXT_JWT was already used to log in")
	})
	t.Run("another audience", func(t *testing.T) {
		wantDriverRefusal(t, addr, "", extJWT, srv.IdPToken(t, "alice", "idcgate-demo", 600), "28P01",
			"the EXT_JWT's audience is none that the Redshift IdC application demo-idc accepts")
	})
	t.Run("signed by another key", func(t *testing.T) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		iss := testserver.IDTokenClaims(t, srv.IdPToken(t, "alice", "redshift-demo", 600))["iss"]
		forged := signJWT(t, jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil, map[string]any{
			"iss": iss, "aud": "redshift-demo", "email": "alice@example.com", "jti": "forged-1",
			"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
		wantDriverRefusal(t, addr, "", extJWT, forged, "28P01", "the EXT_JWT's signature does not verify with the keys of trusted token issuer idcgate-idp")
	})
	t.Run("not a JWT", func(t *testing.T) {
		wantDriverRefusal(t, addr, "", extJWT, "not-a-jwt", "28P01", "the EXT_JWT is not a well-formed JWT")
	})
	t.Run("an issuer the application does not list", func(t *testing.T) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		other := signJWT(t, jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil, map[string]any{
			"iss": "https://idp.elsewhere.example", "aud": "redshift-demo", "email": "alice@example.com", "jti": "x",
			"exp": time.Now().Add(time.Hour).Unix()})
		wantDriverRefusal(t, addr, "", extJWT, other, "28000", "the EXT_JWT's issuer https://idp.elsewhere.example is not a trusted token issuer of the Redshift IdC application demo-idc")
	})
	t.Run("unknown user", func(t *testing.T) {
		id := newDirectoryUser(t, srv, "erin")
		jwt := srv.IdPToken(t, "erin", "redshift-demo", 600)
		deleteDirectoryUser(t, srv, id)
		wantDriverRefusal(t, addr, "", extJWT, jwt, "28000", "no user in identity store d-9067a1b2c3 has emails.value equal to the EXT_JWT's email claim")
	})

	gated := gatedApplication(t, srv)
	trustBuiltinIdP(t, srv, gated, "redshift-gated")
	t.Run("identity_namespace", func(t *testing.T) {
		wantDriverLogin(t, addr, "", with(extJWT, "identity_namespace", "GATED"), srv.IdPToken(t, "alice", "redshift-gated", 600), true, "GATED:alice")
		wantDriverRefusal(t, addr, "", with(extJWT, "identity_namespace", "NOPE"), srv.IdPToken(t, "alice", "redshift-gated", 600), "28000",
			`has the identity namespace "NOPE"`)
	})
	t.Run("not assigned to the managed application", func(t *testing.T) {
		jwt := srv.IdPToken(t, "bob", "redshift-gated", 600)
		wantDriverRefusal(t, addr, "", with(extJWT, "identity_namespace", "GATED"), jwt, "28000", "the EXT_JWT's user bob is not assigned to")
		// Refused before its use was recorded: once admitted, it logs in.
		wantDriverLogin(t, addr, "", with(extJWT, "identity_namespace", "GATED"), srv.IdPToken(t, "alice", "redshift-gated", 600), false, "GATED:alice")
	})
}

// TestGatewaySubjectTokenNamespace: a SUBJECT_TOKEN logs in as before;
// identity_namespace may name its own namespace, and another or an unknown
// one is refused naming the token type.
func TestGatewaySubjectTokenNamespace(t *testing.T) {
	t.Parallel()
	srv, _ := gatewayWorld(t, nil)
	addr := srv.PGAddr()
	tok := tokenFor(t, srv, "alice", "demo")
	subject := map[string]string{"token_type": "SUBJECT_TOKEN"}
	wantDriverLogin(t, addr, "", with(subject, "identity_namespace", "AWSIDC"), tok, true, "AWSIDC:alice")
	wantDriverRefusal(t, addr, "", with(subject, "identity_namespace", "NOPE"), tok, "28000", `has the identity namespace "NOPE"`)
	gatedApplication(t, srv)
	wantDriverRefusal(t, addr, "", with(subject, "identity_namespace", "GATED"), tok, "28P01", "the SUBJECT_TOKEN was issued for identity namespace AWSIDC, not GATED")
}

// issuerArn is the ARN of the trusted token issuer named name.
func issuerArn(t testing.TB, srv *testserver.Server, name string) string {
	t.Helper()
	out, err := srv.SSOAdmin(srv.Admin).ListTrustedTokenIssuers(context.Background(), &ssoadmin.ListTrustedTokenIssuersInput{InstanceArn: aws.String(testserver.InstanceArn)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tti := range out.TrustedTokenIssuers {
		if aws.ToString(tti.Name) == name {
			return aws.ToString(tti.TrustedTokenIssuerArn)
		}
	}
	t.Fatalf("no trusted token issuer %s", name)
	return ""
}

// TestGatewayExtJWTClaims: an EXT_JWT's claims are checked as
// CreateTokenWithIAM checks an assertion's, and it must carry a jti; an
// issuer whose keys are out of reach is a 58000 to retry, not a refusal of
// the JWT; logins are audited and counted with their token type, never
// the token.
func TestGatewayExtJWTClaims(t *testing.T) {
	t.Parallel()
	key := imNewKey(t, "corp-1", jose.ES256)
	inlineSet := key.inlineJWKS(t)
	down := imNewJWKS(t)
	down.serve(http.StatusServiceUnavailable)
	srv, _ := gatewayWorld(t, func(c *config.Config) {
		c.IdentityCenter.TrustedTokenIssuers = append(c.IdentityCenter.TrustedTokenIssuers,
			config.TrustedTokenIssuer{Name: "corp-inline", IssuerURL: imInlineIssuer, JWKS: inlineSet, ClaimAttributePath: "preferred_username", IdentityStoreAttributePath: "userName"},
			config.TrustedTokenIssuer{Name: "corp-down", IssuerURL: imDownIssuer, JWKSURL: down.URL, ClaimAttributePath: "email", IdentityStoreAttributePath: "emails.value"})
	})
	addr := srv.PGAddr()
	demo, _ := idcAppArn(t, srv, "demo-idc")
	trustIssuers(t, srv, demo, "redshift", "corp-inline", "corp-down")
	claims := func(iss string, mod func(map[string]any)) map[string]any {
		now := time.Now()
		c := map[string]any{"iss": iss, "aud": "redshift", "sub": "corp-1", "preferred_username": "alice", "email": "alice@example.com",
			"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": fmt.Sprint("jti-", now.UnixNano())}
		if mod != nil {
			mod(c)
		}
		return c
	}
	good := key.sign(t, claims(imInlineIssuer, nil))
	wantDriverLogin(t, addr, "", extJWT, good, true, "AWSIDC:alice")
	for _, tc := range []struct {
		name, code, msg string
		mod             func(map[string]any)
	}{
		{"no jti", "28P01", "the EXT_JWT has no jti claim: idcgate requires one", func(c map[string]any) { delete(c, "jti") }},
		{"jti not a string", "28P01", "the EXT_JWT's jti claim must be a string", func(c map[string]any) { c["jti"] = 7 }},
		{"expired", "28P01", "the EXT_JWT has expired: get a new one from your identity provider", func(c map[string]any) { c["exp"] = time.Now().Add(-5 * time.Minute).Unix() }},
		{"no exp", "28P01", "the EXT_JWT has no exp claim; it is required", func(c map[string]any) { delete(c, "exp") }},
		{"not yet valid", "28P01", "the EXT_JWT is not valid yet", func(c map[string]any) { c["nbf"] = time.Now().Add(10 * time.Minute).Unix() }},
		{"no user claim", "28000", "the EXT_JWT has no preferred_username claim, which names its user for trusted token issuer corp-inline", func(c map[string]any) { delete(c, "preferred_username") }},
		{"unknown user", "28000", "no user in identity store d-9067a1b2c3 has userName equal to the EXT_JWT's preferred_username claim", func(c map[string]any) { c["preferred_username"] = "mallory" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantDriverRefusal(t, addr, "", extJWT, key.sign(t, claims(imInlineIssuer, tc.mod)), tc.code, tc.msg)
		})
	}
	t.Run("issuer keys out of reach", func(t *testing.T) {
		wantDriverRefusal(t, addr, "", extJWT, key.sign(t, claims(imDownIssuer, nil)), "58000", "the keys of trusted token issuer corp-down could not be fetched")
	})

	t.Run("audit and metrics", func(t *testing.T) {
		recs := auditRecords(t, srv.DataDir)
		var ok, refused int
		for _, r := range recs {
			if r.EventSource != "gateway.idcgate" {
				continue
			}
			if r.RequestParameters["tokenType"] != "EXT_JWT" {
				t.Fatalf("login record without its token type: %+v", r)
			}
			if r.ErrorCode == "" {
				ok++
				if r.UserIdentity.UserName != "alice" || r.RequestParameters["workgroupName"] != "demo" {
					t.Fatalf("login record %+v", r)
				}
			} else {
				refused++
			}
		}
		raw, _ := os.ReadFile(filepath.Join(srv.DataDir, "audit.log"))
		if ok != 1 || refused == 0 || bytes.Contains(raw, []byte(good)) || bytes.Contains(raw, []byte(strings.Split(good, ".")[2])) {
			t.Fatalf("%d ok and %d refused login records (or the token text is in the audit log)", ok, refused)
		}
		m := metricsText(t, srv.URL)
		if !strings.Contains(m, `idcgate_gateway_token_logins_total{result="ok",token_type="EXT_JWT"} 1`) ||
			!strings.Contains(m, `idcgate_gateway_token_logins_total{result="refused",token_type="EXT_JWT"}`) {
			t.Fatalf("metrics:\n%s", grepLines(m, "token_logins"))
		}
	})
}

// TestGatewayTokensExpire: each token type, once expired, is refused
// naming its type and how to get a new one.
func TestGatewayTokensExpire(t *testing.T) {
	t.Parallel()
	clk := &clock.Offset{}
	pg := pgtest.Start(t)
	gmPrepare(t, pg)
	srv := testserver.Start(t, testserver.Options{Clock: clk.Now, Edit: tokenWorld(func(c *config.Config) {
		c.PGUpstream = pg.TLSDSN("dev")
		c.Serverless.TransitionDelay = &config.Duration{}
	})})
	srv.TrustUpstreamCA(t, pg)
	addr := srv.PGAddr()
	demo, _ := idcAppArn(t, srv, "demo-idc")
	trustBuiltinIdP(t, srv, demo, "redshift-demo")
	subject := tokenFor(t, srv, "alice", "demo")
	access := aws.ToString(accessTokenFor(t, srv, "alice", "redshift:connect").AccessToken)
	jwts := []string{srv.IdPToken(t, "alice", "redshift-demo", 600), srv.IdPToken(t, "alice", "redshift-demo", 600)}
	wantDriverLogin(t, addr, "", map[string]string{"token_type": "SUBJECT_TOKEN"}, subject, true, "AWSIDC:alice")
	wantDriverLogin(t, addr, "", accessTok, access, true, "AWSIDC:alice")
	wantDriverLogin(t, addr, "", extJWT, jwts[0], true, "AWSIDC:alice")

	clk.Advance(2 * time.Hour)
	wantDriverRefusal(t, addr, "", map[string]string{"token_type": "SUBJECT_TOKEN"}, subject, "28P01", "the SUBJECT_TOKEN has expired: get a new one with GetIdentityCenterAuthToken")
	wantDriverRefusal(t, addr, "", accessTok, access, "28P01", "the ACCESS_TOKEN has expired: sign in again for a new access token")
	wantDriverRefusal(t, addr, "", extJWT, jwts[1], "28P01", "the EXT_JWT has expired: get a new one from your identity provider")
	// An expired JWT is refused as expired, not as used.
	wantDriverRefusal(t, addr, "", extJWT, jwts[0], "28P01", "the EXT_JWT has expired")
}

// TestGatewayAccessTokenFromSignIn: the door most Redshift users come
// through. A person signs in interactively (SSO-OIDC device flow, the
// client registered as `aws sso login` registers it), and the access token
// CreateToken hands out logs in at the gateway as ACCESS_TOKEN; so does
// the one a refresh hands out. A client registered without
// redshift:connect gets a token the gateway refuses, naming the scope.
func TestGatewayAccessTokenFromSignIn(t *testing.T) {
	t.Parallel()
	srv, _ := gatewayWorld(t, nil)
	addr := srv.PGAddr()
	ctx := context.Background()
	c := srv.UnsignedOIDC()

	reg := slRegister(t, c, nil) // scopes sso:account:access, redshift:connect
	tok := slDeviceTokens(t, srv, c, reg, "alice")
	conn, _, refusal := driverLogin(t, addr, "", accessTok, aws.ToString(tok.AccessToken), true)
	if refusal != nil {
		t.Fatalf("the signed-in user's access token was refused: %s %s", refusal.Code, refusal.Message)
	}
	if who := driverWho(t, conn); who != "AWSIDC:alice" {
		t.Fatalf("logged in as %q, want AWSIDC:alice", who)
	}
	conn.Close()

	next, err := c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String("refresh_token"), RefreshToken: tok.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	wantDriverLogin(t, addr, "", accessTok, aws.ToString(next.AccessToken), false, "AWSIDC:alice")

	narrow := slRegister(t, c, &ssooidc.RegisterClientInput{ClientName: aws.String("no-redshift"), ClientType: aws.String("public"),
		Scopes: []string{"sso:account:access"}})
	bobs := slDeviceTokens(t, srv, c, narrow, "bob")
	wantDriverRefusal(t, addr, "", accessTok, aws.ToString(bobs.AccessToken), "28000", "the ACCESS_TOKEN lacks the scope redshift:connect")
}

// TestGatewayAccessTokenRevoked: an access token stops logging in once its
// user is no longer assigned to the application it was issued through
// (which requires assignment), before it expires (BEHAVIOUR 10.13).
func TestGatewayAccessTokenRevoked(t *testing.T) {
	t.Parallel()
	srv, _ := gatewayWorld(t, nil)
	addr := srv.PGAddr()
	carol := aws.ToString(accessTokenFor(t, srv, "carol", "redshift:connect").AccessToken)
	wantDriverLogin(t, addr, "", accessTok, carol, true, "AWSIDC:carol")

	// carol is assigned to the example application directly.
	_, err := srv.SSOAdmin(srv.Admin).DeleteApplicationAssignment(context.Background(), &ssoadmin.DeleteApplicationAssignmentInput{
		ApplicationArn: aws.String(testserver.ApplicationArn), PrincipalId: aws.String(slUserID(t, srv, "carol")),
		PrincipalType: admintypes.PrincipalTypeUser})
	if err != nil {
		t.Fatal(err)
	}
	wantDriverRefusal(t, addr, "", accessTok, carol, "28000", "the ACCESS_TOKEN was issued through application "+testserver.ApplicationArn+", to which user carol is no longer assigned")
}

// TestGatewaySubjectTokenAdmission: a SUBJECT_TOKEN is refused, as the
// other types are, when the Redshift IdC application's managed application
// requires assignment and its user is not assigned; the drivers' path and
// the password path alike (BEHAVIOUR 10.13).
func TestGatewaySubjectTokenAdmission(t *testing.T) {
	t.Parallel()
	srv, _ := gatewayWorld(t, nil)
	addr := srv.PGAddr()
	alice, bob := tokenFor(t, srv, "alice", "demo"), tokenFor(t, srv, "bob", "demo")
	subject := map[string]string{"token_type": "SUBJECT_TOKEN"}
	wantDriverLogin(t, addr, "", subject, bob, true, "AWSIDC:bob")

	_, managed := idcAppArn(t, srv, "demo-idc")
	admitOnly(t, srv, managed, "analysts")
	wantDriverLogin(t, addr, "", subject, alice, true, "AWSIDC:alice")
	wantDriverRefusal(t, addr, "", subject, bob, "28000", "the SUBJECT_TOKEN's user bob is not assigned to "+managed)
	_, err := connectGateway(t, srv, bob, "")
	wantPgError(t, err, "28000", "the SUBJECT_TOKEN's user bob is not assigned to "+managed)
}
