package e2e

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idcgate/idcgate/internal/clock"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// connectAs connects through the gateway as user with password (a
// GetCredentials dbPassword, as a Redshift driver sends it after its own
// call, or an Identity Center token); sni, when set, is the TLS server
// name (the workgroup's endpoint address).
func connectAs(t *testing.T, srv *testserver.Server, user, password, dbname, sni string) (*pgx.Conn, error) {
	t.Helper()
	host, port, _ := net.SplitHostPort(srv.PGAddr())
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%s dbname=%s sslmode=require", host, port, dbname))
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Password = user, password
	if sni != "" {
		cfg.TLSConfig = &tls.Config{InsecureSkipVerify: true, ServerName: sni}
		cfg.Fallbacks = nil
	}
	return pgx.ConnectConfig(context.Background(), cfg)
}

func wantPgError(t *testing.T, err error, code, msgPart string) {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != code || !strings.Contains(pe.Message, msgPart) {
		t.Fatalf("want %s containing %q, got %v", code, msgPart, err)
	}
}

// TestGatewayIAMLogin: GetCredentials as the role analyst, then a plain
// PostgreSQL login as IAMR:analyst with the dbPassword. The session has
// exactly the grants of the database role; the password is refused after
// its expiry, on another workgroup, for another user or database, and when
// changed.
func TestGatewayIAMLogin(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	gmPrepare(t, pg)
	pg.Exec(t, "dev", `CREATE TABLE metrics(n int)`, `INSERT INTO metrics VALUES (7)`)
	clk := &clock.Offset{}
	srv := testserver.Start(t, testserver.Options{Clock: clk.Now, Edit: tokenWorld(func(c *config.Config) {
		c.PGUpstream = pg.TLSDSN("dev")
		c.Serverless.TransitionDelay = &config.Duration{}
	})})
	srv.TrustUpstreamCA(t, pg)
	ctx := context.Background()
	as, err := srv.STS(srv.App).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("driver")})
	if err != nil {
		t.Fatal(err)
	}
	rs := srv.Serverless(aws.Credentials{AccessKeyID: aws.ToString(as.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(as.Credentials.SecretAccessKey), SessionToken: aws.ToString(as.Credentials.SessionToken)})
	creds, err := rs.GetCredentials(ctx, &redshiftserverless.GetCredentialsInput{WorkgroupName: aws.String("demo")})
	if err != nil {
		t.Fatal(err)
	}
	user, password := aws.ToString(creds.DbUser), aws.ToString(creds.DbPassword)

	c, err := connectAs(t, srv, user, password, "dev", "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var who string
	if err := c.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil || who != "IAMR:analyst" {
		t.Fatalf("current_user %q %v", who, err)
	}
	// The role has the grants of the database role "IAMR:analyst" only.
	var n int
	wantPgError(t, c.QueryRow(ctx, "SELECT n FROM metrics").Scan(&n), "42501", "permission denied for table metrics")
	pg.Exec(t, "dev", `GRANT SELECT ON metrics TO "IAMR:analyst"`)
	if err := c.QueryRow(ctx, "SELECT n FROM metrics").Scan(&n); err != nil || n != 7 {
		t.Fatalf("granted table: %d %v", n, err)
	}
	wantPgError(t, c.QueryRow(ctx, "SELECT sum(amount) FROM sales").Scan(&n), "42501", "permission denied for table sales")
	if _, err := c.Exec(ctx, "RESET ROLE"); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil || who != "IAMR:analyst" {
		t.Fatalf("after RESET ROLE %q %v", who, err)
	}

	t.Run("psql", func(t *testing.T) {
		psql, err := exec.LookPath("psql")
		if err != nil {
			pgtest.Missing(t, err)
		}
		host, port, _ := net.SplitHostPort(srv.PGAddr())
		cmd := exec.Command(psql, "-X", "-A", "-t", "-c", "SELECT current_user || ' ' || n FROM metrics",
			fmt.Sprintf("host=%s port=%s dbname=dev user=%s sslmode=require", host, port, user))
		cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "IAMR:analyst 7" {
			t.Fatalf("psql: %v %s", err, out)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		changed := []byte(password)
		i := len(changed) - 8
		if changed[i] == 'A' {
			changed[i] = 'B'
		} else {
			changed[i] = 'A'
		}
		_, err := connectAs(t, srv, user, string(changed), "dev", "")
		wantPgError(t, err, "28P01", `password authentication failed for user "IAMR:analyst"`)
		_, err = connectAs(t, srv, user, "not-a-password", "dev", "")
		wantPgError(t, err, "28P01", "use the dbPassword of GetCredentials")
		_, err = connectAs(t, srv, "IAM:app", password, "dev", "")
		wantPgError(t, err, "28P01", `issued by GetCredentials to another database user, not "IAM:app"`)
		// The TLS server name chooses workgroup wg-two: demo's password is refused there.
		_, err = connectAs(t, srv, user, password, "dev", "wg-two.123456789012.us-east-1.redshift-serverless.amazonaws.com")
		wantPgError(t, err, "28P01", "for another workgroup")
		// A password for database dev only.
		devOnly, err := rs.GetCredentials(ctx, &redshiftserverless.GetCredentialsInput{WorkgroupName: aws.String("demo"), DbName: aws.String("dev")})
		if err != nil {
			t.Fatal(err)
		}
		_, err = connectAs(t, srv, user, aws.ToString(devOnly.DbPassword), "postgres", "")
		wantPgError(t, err, "28000", `for database "dev" only`)
		ok, err := connectAs(t, srv, user, aws.ToString(devOnly.DbPassword), "dev", "demo.123456789012.us-east-1.redshift-serverless.amazonaws.com")
		if err != nil {
			t.Fatalf("dev-only password on dev: %v", err)
		}
		ok.Close(ctx)

		// Past its expiration (900 s): refused, though the session above lives on.
		clk.Advance(901 * time.Second)
		_, err = connectAs(t, srv, user, password, "dev", "")
		wantPgError(t, err, "28P01", `the password of user "IAMR:analyst" has expired: get a new one with GetCredentials`)
		if err := c.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
			t.Fatalf("open session after expiry: %v", err)
		}
	})

	// Every login is audited as the IAM identity, with no password.
	logged, err := os.ReadFile(filepath.Join(srv.DataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(logged)
	if !strings.Contains(text, `"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/analyst/driver"`) ||
		!strings.Contains(text, `"dbUser":"IAMR:analyst"`) || strings.Contains(text, "IAMC1.") {
		t.Fatalf("audit of IAM logins:\n%s", text)
	}
	// A password, not a token: no tokenType in the audit; metrics count it
	// as IAM_CREDENTIALS, never as a SUBJECT_TOKEN login.
	if strings.Contains(text, `"tokenType"`) {
		t.Fatalf("an IAM login audited with a token type:\n%s", text)
	}
	m := metricsText(t, srv.URL)
	if !strings.Contains(m, `idcgate_gateway_token_logins_total{result="ok",token_type="IAM_CREDENTIALS"}`) ||
		!strings.Contains(m, `idcgate_gateway_token_logins_total{result="refused",token_type="IAM_CREDENTIALS"}`) ||
		strings.Contains(m, `token_type="SUBJECT_TOKEN"`) {
		t.Fatalf("IAM logins in the metrics:\n%s", grepLines(m, "idcgate_gateway_token_logins_total"))
	}
}
