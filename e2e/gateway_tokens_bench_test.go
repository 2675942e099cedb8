package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// connectOnce is one whole connection of a Redshift driver: the
// drivers' exchange with token_type (driverExchange) to the session's
// first ReadyForQuery, then Terminate.
func connectOnce(addr, tokenType, token string) error {
	conn, _, refusal, err := driverExchange(addr, "", map[string]string{"token_type": tokenType, "workgroup": "demo"}, token, true)
	if err != nil {
		return err
	}
	if refusal != nil {
		return errors.New(refusal.Code + " " + refusal.Message)
	}
	defer conn.Close()
	_, err = conn.Write([]byte{'X', 0, 0, 0, 4})
	return err
}

// connectRates keeps each sub-benchmark's last connections per second, so
// the last one can print the ratios against SUBJECT_TOKEN.
var connectRates sync.Map

// BenchmarkGatewayConnectByTokenType: the gateway's connect rate through
// the Redshift drivers' exchange over TLS (a new connection per operation,
// as pgbench -C) with each token type, on a real upstream; it prints each
// type's rate against SUBJECT_TOKEN's (target: at least 0.8).
//
//	go test ./e2e -run '^$' -bench GatewayConnectByTokenType -benchtime 3s
func BenchmarkGatewayConnectByTokenType(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk := jose.JSONWebKey{Key: &key.PublicKey, KeyID: "bench-1", Algorithm: "ES256", Use: "sig"}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	pg := pgtest.Start(b)
	pg.CreateDatabase(b, "dev")
	pg.Exec(b, "dev", `CREATE ROLE "AWSIDC:analysts" NOLOGIN`)
	srv := testserver.Start(b, testserver.Options{Edit: func(c *config.Config) {
		c.PGUpstream = pg.TLSDSN("dev")
		c.Gateway.MaxSessionsPerUser = 10000
		c.IdentityCenter.TrustedTokenIssuers = append(c.IdentityCenter.TrustedTokenIssuers,
			config.TrustedTokenIssuer{Name: "bench", IssuerURL: "https://idp.bench.example", JWKS: string(set), ClaimAttributePath: "preferred_username", IdentityStoreAttributePath: "userName"})
	}})
	srv.TrustUpstreamCA(b, pg)
	ctx := context.Background()
	addr := srv.PGAddr()

	sub, err := srv.Serverless(srv.IdentitySession(b, "alice", testserver.AnalystRoleArn)).GetIdentityCenterAuthToken(ctx,
		&redshiftserverless.GetIdentityCenterAuthTokenInput{WorkgroupNames: []string{"demo"}})
	if err != nil {
		b.Fatal(err)
	}
	access, err := srv.OIDC(srv.App).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(testserver.ApplicationArn), GrantType: aws.String(testserver.JWTBearer),
		Assertion: aws.String(srv.IdPToken(b, "alice", "idcgate-demo", 3600)), Scope: []string{"redshift:connect"}})
	if err != nil {
		b.Fatal(err)
	}
	demo, _ := idcAppArn(b, srv, "demo-idc")
	trustIssuers(b, srv, demo, "redshift", "bench")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "bench-1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		b.Fatal(err)
	}
	var jtis atomic.Int64
	newJWT := func() string {
		tok, err := jwt.Signed(signer).Claims(map[string]any{"iss": "https://idp.bench.example", "aud": "redshift", "preferred_username": "alice",
			"exp": time.Now().Add(time.Hour).Unix(), "jti": fmt.Sprint("bench-", jtis.Add(1))}).Serialize()
		if err != nil {
			panic(err)
		}
		return tok
	}

	types := []struct {
		name  string
		token func(n int) []string // n tokens for n connections
	}{
		{"SUBJECT_TOKEN", func(n int) []string { return repeat(aws.ToString(sub.Token), n) }},
		{"ACCESS_TOKEN", func(n int) []string { return repeat(aws.ToString(access.AccessToken), n) }},
		{"EXT_JWT", func(n int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = newJWT() // each JWT once: minted before the clock runs
			}
			return out
		}},
	}
	for _, tt := range types {
		b.Run(tt.name, func(b *testing.B) {
			if err := connectOnce(addr, tt.name, tt.token(1)[0]); err != nil {
				b.Fatal(err) // warm: the role sync, the verifiers
			}
			tokens := tt.token(b.N)
			var next atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := connectOnce(addr, tt.name, tokens[next.Add(1)-1]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			rate := float64(b.N) / time.Since(start).Seconds()
			b.ReportMetric(rate, "conns/s")
			connectRates.Store(tt.name, rate)
		})
	}
	base, ok := connectRates.Load("SUBJECT_TOKEN")
	if !ok {
		return
	}
	for _, tt := range types[1:] {
		if r, ok := connectRates.Load(tt.name); ok {
			verdict := "met"
			if r.(float64)/base.(float64) < 0.8 {
				verdict = "NOT met"
			}
			fmt.Printf("connect rate %s / SUBJECT_TOKEN: %.0f / %.0f conns/s = %.2f (>= 0.80: %s)\n", tt.name, r.(float64), base.(float64), r.(float64)/base.(float64), verdict)
		}
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
