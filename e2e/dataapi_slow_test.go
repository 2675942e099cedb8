//go:build slow

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata/types"

	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testkit"
	"github.com/idcgate/idcgate/internal/testserver"
)

func TestDataAPILargeResult(t *testing.T) {
	t.Parallel()
	srv, _ := dataWorld(t, nil)
	alice := dataClient(srv, srv.IdentitySession(t, "alice", testserver.AnalystRoleArn))
	id := execute(t, alice, "select id, label, half from big order by id")
	d := waitFinal(t, alice, id)
	if d.Status != types.StatusStringFinished || d.ResultRows != 100000 || d.ResultSize <= 0 {
		t.Fatalf("describe: %s %q %d", d.Status, aws.ToString(d.Error), d.ResultRows)
	}
	rows, sum := 0, int64(0)
	seen := 0
	records, pages := pagedItems(t, redshiftdata.NewGetStatementResultPaginator(alice, &redshiftdata.GetStatementResultInput{Id: &id}),
		func(page *redshiftdata.GetStatementResultOutput) [][]types.Field {
			seen++
			if page.TotalNumRows != 100000 || len(page.ColumnMetadata) != 3 {
				t.Fatalf("page %d: total %d, %d columns", seen, page.TotalNumRows, len(page.ColumnMetadata))
			}
			return page.Records
		})
	for _, r := range records {
		rows++
		id := r[0].(*types.FieldMemberLongValue).Value
		if id != int64(rows) || str(r[1]) != fmt.Sprintf("row %d", id) {
			t.Fatalf("row %d: %s %s", rows, str(r[0]), str(r[1]))
		}
		sum += id
	}
	if rows != 100000 || sum != 100000*100001/2 || pages < 2 {
		t.Fatalf("%d rows in %d pages, sum %d", rows, pages, sum)
	}
}

// TestDataAPIRestart: a statement running when idcgate stops ends ABORTED
// (its query cancelled upstream) and is still there after the restart.
func TestDataAPIRestart(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	gmPrepare(t, pg)
	srv := gmStart(t, pg, "", nil)
	dir := srv.DataDir
	alice := srv.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	c := dataClient(srv, alice)
	id := execute(t, c, "select pg_sleep(120)")
	waitStatus(t, c, id, types.StatusStringStarted)
	srv.Stop()

	srv = gmStart(t, pg, dir, nil)
	d := waitFinal(t, dataClient(srv, alice), id)
	if d.Status != types.StatusStringAborted || !strings.Contains(aws.ToString(d.Error), "shut down") {
		t.Fatalf("after restart: %s %q", d.Status, aws.ToString(d.Error))
	}
}

// TestDataAPIRunnerKilled: a statement whose idcgate was killed mid-query
// is FAILED after the restart, never left STARTED, and its upstream
// backend is ended.
func TestDataAPIRunnerKilled(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	gmPrepare(t, pg)
	env := map[string]string{"IDCGATE_PG_UPSTREAM": pg.TLSDSN("dev")}
	p := testserver.StartProcess(t, testserver.Options{Env: env})
	p.Server.TrustUpstreamCA(t, pg)
	alice := p.Server.IdentitySession(t, "alice", testserver.AnalystRoleArn)
	id := execute(t, dataClient(p.Server, alice), "select pg_sleep(120) /* killed */")
	waitStatus(t, dataClient(p.Server, alice), id, types.StatusStringStarted)
	p.Kill()

	admin := gmAdmin(t, pg)
	running := func() int {
		return gmScan[int](t, admin, `SELECT count(*) FROM pg_stat_activity WHERE usename = 'AWSIDC:alice' AND query LIKE '%pg_sleep(120) /* killed */%' AND pid <> pg_backend_pid()`)
	}
	if running() != 1 {
		t.Fatal("the killed runner's query is not running upstream")
	}
	srv := gmStart(t, pg, p.Server.DataDir, nil)
	d := waitFinal(t, dataClient(srv, alice), id)
	if d.Status != types.StatusStringFailed || !strings.Contains(aws.ToString(d.Error), "runner") {
		t.Fatalf("after the restart: %s %q", d.Status, aws.ToString(d.Error))
	}
	eventually(t, 10*time.Second, "the killed runner's backend ended", func() (bool, error) { return running() == 0, nil })
}

// TestDataAPIManagedUpstream: `serve` with the example config alone (the
// managed upstream) gives a working Data API, with the seeded grants.
func TestDataAPIManagedUpstream(t *testing.T) {
	t.Parallel()
	p := startManaged(t, filepath.Join(testkit.ReachableDir(t), "data"))
	ctx := context.Background()
	alice := dataClient(p.Server, p.IdentitySession(t, "alice", testserver.AnalystRoleArn))
	var id string
	eventually(t, 10*time.Second, "a statement on demo", func() (bool, error) {
		out, err := alice.ExecuteStatement(ctx, &redshiftdata.ExecuteStatementInput{Sql: aws.String("select current_user, sum(amount) from public.sales"),
			WorkgroupName: aws.String("demo"), Database: aws.String("dev")})
		if err != nil {
			return false, nil // the workgroup is still being created
		}
		id = aws.ToString(out.Id)
		return true, nil
	})
	if d := waitFinal(t, alice, id); d.Status != types.StatusStringFinished {
		t.Fatalf("alice: %s %q", d.Status, aws.ToString(d.Error))
	}
	res, err := alice.GetStatementResult(ctx, &redshiftdata.GetStatementResultInput{Id: &id})
	if err != nil || str(res.Records[0][0]) != "AWSIDC:alice" || str(res.Records[0][1]) != "4395.75" {
		t.Fatalf("alice's result: %v %+v", err, res)
	}
	bob := dataClient(p.Server, p.IdentitySession(t, "bob", testserver.AnalystRoleArn))
	id = execute(t, bob, "select count(*) from public.sales")
	if d := waitFinal(t, bob, id); d.Status != types.StatusStringFailed || !strings.Contains(aws.ToString(d.Error), "permission denied") {
		t.Fatalf("bob: %s %q", d.Status, aws.ToString(d.Error))
	}
}
