package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata"
	"github.com/aws/aws-sdk-go-v2/service/redshiftdata/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/jackc/pgx/v5"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/config"
	"github.com/idcgate/idcgate/internal/pgtest"
	"github.com/idcgate/idcgate/internal/testserver"
)

// dataWorld is gatewayWorld with a 100,000-row table only analysts read.
func dataWorld(t *testing.T, edit func(*config.Config)) (*testserver.Server, *pgtest.Server) {
	t.Helper()
	srv, pg := gatewayWorld(t, edit)
	pg.Exec(t, "dev",
		`CREATE TABLE big AS SELECT g AS id, 'row ' || g AS label, g * 0.5 AS half FROM generate_series(1, 100000) g`,
		`GRANT SELECT ON big TO "AWSIDC:analysts"`)
	return srv, pg
}

func dataClient(srv *testserver.Server, creds aws.Credentials) *redshiftdata.Client {
	return redshiftdata.NewFromConfig(srv.Config(creds))
}

// execute runs sql on workgroup demo, database dev, and returns its id.
func execute(t *testing.T, c *redshiftdata.Client, sql string, params ...types.SqlParameter) string {
	t.Helper()
	out, err := c.ExecuteStatement(context.Background(), &redshiftdata.ExecuteStatementInput{
		Sql: &sql, WorkgroupName: aws.String("demo"), Database: aws.String("dev"), Parameters: params})
	if err != nil {
		t.Fatalf("ExecuteStatement %q: %v", sql, err)
	}
	return aws.ToString(out.Id)
}

// waitFinal polls DescribeStatement until the statement's status is final.
func waitFinal(t *testing.T, c *redshiftdata.Client, id string) *redshiftdata.DescribeStatementOutput {
	t.Helper()
	var out *redshiftdata.DescribeStatementOutput
	eventually(t, 20*time.Second, "statement "+id+" final", func() (bool, error) {
		var err error
		out, err = c.DescribeStatement(context.Background(), &redshiftdata.DescribeStatementInput{Id: &id})
		if err != nil {
			return false, err
		}
		switch out.Status {
		case types.StatusStringFinished, types.StatusStringFailed, types.StatusStringAborted:
			return true, nil
		}
		return false, nil
	})
	return out
}

func waitStatus(t *testing.T, c *redshiftdata.Client, id string, want types.StatusString) *redshiftdata.DescribeStatementOutput {
	t.Helper()
	var out *redshiftdata.DescribeStatementOutput
	eventually(t, 20*time.Second, "statement "+id+" "+string(want), func() (bool, error) {
		var err error
		out, err = c.DescribeStatement(context.Background(), &redshiftdata.DescribeStatementInput{Id: &id})
		return err == nil && out.Status == want, err
	})
	return out
}

func str(f types.Field) string {
	switch v := f.(type) {
	case *types.FieldMemberStringValue:
		return v.Value
	case *types.FieldMemberLongValue:
		return fmt.Sprint(v.Value)
	case *types.FieldMemberDoubleValue:
		return fmt.Sprint(v.Value)
	case *types.FieldMemberBooleanValue:
		return fmt.Sprint(v.Value)
	case *types.FieldMemberIsNull:
		return "NULL"
	}
	return fmt.Sprintf("%T", f)
}

func TestDataAPI(t *testing.T) {
	t.Parallel()
	srv, _ := dataWorld(t, nil)
	ctx := context.Background()
	alice := dataClient(srv, srv.IdentitySession(t, "alice", testserver.AnalystRoleArn))
	bob := dataClient(srv, srv.IdentitySession(t, "bob", testserver.AnalystRoleArn))

	// select current_user: alice's role, with her group's grants.
	id := execute(t, alice, "select current_user")
	d := waitFinal(t, alice, id)
	if d.Status != types.StatusStringFinished || !aws.ToBool(d.HasResultSet) || d.ResultRows != 1 || aws.ToString(d.QueryString) != "select current_user" ||
		aws.ToString(d.WorkgroupName) != "demo" || aws.ToString(d.Database) != "dev" || d.RedshiftPid == 0 || d.CreatedAt == nil ||
		d.Duration < int64(time.Microsecond) || d.Duration > int64(time.Minute) { // nanoseconds
		t.Fatalf("describe: %+v", d)
	}
	if since := time.Since(*d.CreatedAt); since < 0 || since > time.Minute {
		t.Fatalf("CreatedAt %s is not now", d.CreatedAt)
	}
	res, err := alice.GetStatementResult(ctx, &redshiftdata.GetStatementResultInput{Id: &id})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 1 || str(res.Records[0][0]) != "AWSIDC:alice" || res.TotalNumRows != 1 ||
		len(res.ColumnMetadata) != 1 || aws.ToString(res.ColumnMetadata[0].Name) != "current_user" || aws.ToString(res.ColumnMetadata[0].TypeName) != "name" {
		t.Fatalf("result: %+v", res)
	}

	// A parameterised query: typed fields and column metadata.
	id = execute(t, alice, "select id, amount, amount * 1.5::float8 AS f, null::text AS n, id = :id AS b, ':id' AS lit, :tag AS tag from sales where id = :id",
		types.SqlParameter{Name: aws.String("id"), Value: aws.String("2")}, types.SqlParameter{Name: aws.String("tag"), Value: aws.String("param-7f3a9c")})
	paramID := id
	if d := waitFinal(t, alice, id); d.Status != types.StatusStringFinished || len(d.QueryParameters) != 2 {
		t.Fatalf("parameterised: %s %s %+v", d.Status, aws.ToString(d.Error), d.QueryParameters)
	}
	res, err = alice.GetStatementResult(ctx, &redshiftdata.GetStatementResultInput{Id: &id})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 1 {
		t.Fatalf("rows: %+v", res.Records)
	}
	row := res.Records[0]
	if _, ok := row[1].(*types.FieldMemberLongValue); !ok || str(row[1]) != "250" || str(row[2]) != "375" || str(row[3]) != "NULL" || str(row[4]) != "true" || str(row[5]) != ":id" || str(row[6]) != "param-7f3a9c" {
		t.Fatalf("typed row: %s %s %s %s %s %s", str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), str(row[5]))
	}
	if m := res.ColumnMetadata[1]; aws.ToString(m.TableName) != "sales" || aws.ToString(m.SchemaName) != "public" || aws.ToString(m.TypeName) != "int4" || !m.IsSigned {
		t.Fatalf("column metadata: table %q schema %q type %q signed %v", aws.ToString(m.TableName), aws.ToString(m.SchemaName), aws.ToString(m.TypeName), m.IsSigned)
	}

	// A batch: sub-statements <id>:<n>, one transaction.
	bout, err := alice.BatchExecuteStatement(ctx, &redshiftdata.BatchExecuteStatementInput{WorkgroupName: aws.String("demo"), Database: aws.String("dev"),
		Sqls: []string{"create temp table t(x int)", "insert into t values (1), (2), (3)", "select sum(x) from t"}, StatementName: aws.String("batch-one")})
	if err != nil {
		t.Fatal(err)
	}
	bid := aws.ToString(bout.Id)
	d = waitFinal(t, alice, bid)
	if d.Status != types.StatusStringFinished || len(d.SubStatements) != 3 || aws.ToString(d.SubStatements[2].Id) != bid+":3" ||
		d.SubStatements[1].ResultRows != 3 || d.SubStatements[1].Status != types.StatementStatusStringFinished {
		t.Fatalf("batch: %s %s %+v", d.Status, aws.ToString(d.Error), d.SubStatements)
	}
	res, err = alice.GetStatementResult(ctx, &redshiftdata.GetStatementResultInput{Id: aws.String(bid + ":3")})
	if err != nil || str(res.Records[0][0]) != "6" {
		t.Fatalf("batch result: %v %+v", err, res)
	}

	// A SQL error is a FAILED statement with PostgreSQL's message.
	id = execute(t, alice, "select * from no_such_table")
	if d := waitFinal(t, alice, id); d.Status != types.StatusStringFailed || !strings.Contains(aws.ToString(d.Error), `relation "no_such_table" does not exist`) {
		t.Fatalf("failed: %s %q", d.Status, aws.ToString(d.Error))
	}
	_, err = alice.GetStatementResult(ctx, &redshiftdata.GetStatementResultInput{Id: &id})
	wantAPIError(t, err, "ResourceNotFoundException", 400, "Query does not have result. Please check query status with DescribeStatement.")

	// CSV through GetStatementResultV2.
	cout, err := alice.ExecuteStatement(ctx, &redshiftdata.ExecuteStatementInput{Sql: aws.String("select id, amount from sales order by id"),
		WorkgroupName: aws.String("demo"), Database: aws.String("dev"), ResultFormat: types.ResultFormatStringCsv})
	if err != nil {
		t.Fatal(err)
	}
	waitFinal(t, alice, aws.ToString(cout.Id))
	v2, err := alice.GetStatementResultV2(ctx, &redshiftdata.GetStatementResultV2Input{Id: cout.Id})
	if err != nil {
		t.Fatal(err)
	}
	if len(v2.Records) != 1 || v2.ResultFormat != types.ResultFormatStringCsv || v2.Records[0].(*types.QueryRecordsMemberCSVRecords).Value != "id,amount\n1,100\n2,250\n" {
		t.Fatalf("CSV: %+v", v2.Records)
	}
	_, err = alice.GetStatementResult(ctx, &redshiftdata.GetStatementResultInput{Id: cout.Id})
	wantAPIError(t, err, "ValidationException", 400, "")

	// Bob cannot see, read or cancel alice's statement, and is refused her table.
	_, err = bob.DescribeStatement(ctx, &redshiftdata.DescribeStatementInput{Id: &bid})
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) || aws.ToString(rnf.ResourceId) != bid {
		t.Fatalf("bob describes alice's statement: %v (want ResourceId %s)", err, bid)
	}
	_, err = bob.GetStatementResult(ctx, &redshiftdata.GetStatementResultInput{Id: aws.String(bid + ":3")})
	wantAPIError(t, err, "ResourceNotFoundException", 400, "")
	_, err = bob.CancelStatement(ctx, &redshiftdata.CancelStatementInput{Id: &bid})
	wantAPIError(t, err, "ResourceNotFoundException", 400, "")
	bid2 := execute(t, bob, "select count(*) from sales")
	if d := waitFinal(t, bob, bid2); d.Status != types.StatusStringFailed || !strings.Contains(aws.ToString(d.Error), "permission denied for table sales") {
		t.Fatalf("bob reads sales: %s %q", d.Status, aws.ToString(d.Error))
	}

	// ListStatements: alice's own, newest first, with WorkgroupName.
	_, err = alice.ListStatements(ctx, &redshiftdata.ListStatementsInput{})
	wantAPIError(t, err, "ValidationException", 400, "WorkgroupName is required to list statements with trusted identity propagation.")
	listed, _ := pagedItems(t, redshiftdata.NewListStatementsPaginator(alice, &redshiftdata.ListStatementsInput{WorkgroupName: aws.String("demo"), MaxResults: 2}),
		func(o *redshiftdata.ListStatementsOutput) []types.StatementData { return o.Statements })
	if len(listed) != 5 || aws.ToString(listed[0].Id) != aws.ToString(cout.Id) || !aws.ToBool(listed[2].IsBatchStatement) || aws.ToString(listed[2].StatementName) != "batch-one" {
		t.Fatalf("alice's list: %d %+v", len(listed), listed)
	}
	bl, err := bob.ListStatements(ctx, &redshiftdata.ListStatementsInput{WorkgroupName: aws.String("demo")})
	if err != nil || len(bl.Statements) != 1 || aws.ToString(bl.Statements[0].Id) != bid2 {
		t.Fatalf("bob's list: %v %+v", err, bl)
	}

	// Refusals: Database with temporary credentials, DbUser, no workgroup.
	_, err = alice.ExecuteStatement(ctx, &redshiftdata.ExecuteStatementInput{Sql: aws.String("select 1"), WorkgroupName: aws.String("demo")})
	wantAPIError(t, err, "ValidationException", 400, "Database is required when you use temporary credentials.")
	_, err = alice.ExecuteStatement(ctx, &redshiftdata.ExecuteStatementInput{Sql: aws.String("select 1"), WorkgroupName: aws.String("demo"), Database: aws.String("dev"), DbUser: aws.String("admin")})
	wantAPIError(t, err, "ValidationException", 400, "")
	_, err = alice.ExecuteStatement(ctx, &redshiftdata.ExecuteStatementInput{Sql: aws.String("select 1"), WorkgroupName: aws.String("nope"), Database: aws.String("dev")})
	wantAPIError(t, err, "ValidationException", 400, "")
	_, err = alice.DescribeStatement(ctx, &redshiftdata.DescribeStatementInput{Id: aws.String("not-an-id")})
	wantAPIError(t, err, "ValidationException", 400, "")

	// Catalog calls run as alice too.
	dbs, err := alice.ListDatabases(ctx, &redshiftdata.ListDatabasesInput{WorkgroupName: aws.String("demo"), Database: aws.String("dev")})
	if err != nil || !strings.Contains(strings.Join(dbs.Databases, ","), "dev") {
		t.Fatalf("ListDatabases: %v %+v", err, dbs)
	}
	tabs, err := alice.ListTables(ctx, &redshiftdata.ListTablesInput{WorkgroupName: aws.String("demo"), Database: aws.String("dev"), SchemaPattern: aws.String("public")})
	if err != nil || len(tabs.Tables) != 2 || aws.ToString(tabs.Tables[0].Name) != "big" || aws.ToString(tabs.Tables[0].Type) != "TABLE" {
		t.Fatalf("ListTables: %v %+v", err, tabs)
	}
	desc, err := alice.DescribeTable(ctx, &redshiftdata.DescribeTableInput{WorkgroupName: aws.String("demo"), Database: aws.String("dev"), Schema: aws.String("public"), Table: aws.String("sales")})
	if err != nil || len(desc.ColumnList) != 2 || aws.ToString(desc.ColumnList[1].Name) != "amount" || aws.ToString(desc.ColumnList[1].TypeName) != "int4" {
		t.Fatalf("DescribeTable: %v %+v", err, desc)
	}
	schemas, err := alice.ListSchemas(ctx, &redshiftdata.ListSchemasInput{WorkgroupName: aws.String("demo"), Database: aws.String("dev"), SchemaPattern: aws.String("pub%")})
	if err != nil || len(schemas.Schemas) != 1 || schemas.Schemas[0] != "public" {
		t.Fatalf("ListSchemas: %v %+v", err, schemas)
	}

	// The audit trail: who, on whose behalf, which statement; never the
	// SQL text or its parameters' values.
	srv.Stop() // the audit log is flushed
	raw, err := os.ReadFile(filepath.Join(srv.DataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "param-7f3a9c") || strings.Contains(string(raw), "amount * 1.5") {
		t.Fatal("the audit log holds a statement's SQL text or parameter value")
	}
	recs := auditRecords(t, srv.DataDir)
	var execs, describes int
	aliceID := ""
	for _, r := range recs {
		if r.EventSource != "redshift-data.amazonaws.com" || r.UserIdentity.OnBehalfOf == nil || r.UserIdentity.OnBehalfOf.UserID == "" {
			continue
		}
		if aliceID == "" {
			aliceID = r.UserIdentity.OnBehalfOf.UserID // her calls come first
		}
		if r.UserIdentity.OnBehalfOf.UserID != aliceID {
			continue
		}
		switch {
		case r.EventName == "ExecuteStatement" && r.AdditionalEventData["statementId"] == paramID:
			execs++
			ps, _ := r.RequestParameters["Parameters"].([]any)
			if r.RequestParameters["Sql"] != audit.Hidden || len(ps) != 2 || ps[1].(map[string]any)["name"] != "tag" {
				t.Fatalf("ExecuteStatement record: %+v", r.RequestParameters)
			}
		case r.EventName == "DescribeStatement" && r.RequestParameters["Id"] == paramID:
			describes++
		}
	}
	if execs != 1 || describes == 0 {
		t.Fatalf("audit: %d ExecuteStatement, %d DescribeStatement records of alice's statement", execs, describes)
	}
}

// TestDataAPIIAMCaller: without an identity context, the IAM database user,
// and redshift-data plus redshift-serverless:GetCredentials are needed.
func TestDataAPIIAMCaller(t *testing.T) {
	t.Parallel()
	srv, _ := dataWorld(t, nil)
	ctx := context.Background()
	// An IAM user without redshift-data permissions is refused.
	_, err := dataClient(srv, srv.App).ExecuteStatement(ctx, &redshiftdata.ExecuteStatementInput{Sql: aws.String("select 1"), WorkgroupName: aws.String("demo")})
	wantAPIError(t, err, "AccessDeniedException", 400, "")
	root := dataClient(srv, srv.Admin)
	id := execute(t, root, "select current_user")
	if d := waitFinal(t, root, id); d.Status != types.StatusStringFinished || aws.ToString(d.DbUser) != "IAM:root" {
		t.Fatalf("root: %s %s", d.Status, aws.ToString(d.Error))
	}
	res, err := root.GetStatementResult(ctx, &redshiftdata.GetStatementResultInput{Id: &id})
	if err != nil || str(res.Records[0][0]) != "IAM:root" {
		t.Fatalf("root's user: %v %+v", err, res)
	}
	// Long-term credentials may leave Database out: the namespace's.
	out, err := root.ExecuteStatement(ctx, &redshiftdata.ExecuteStatementInput{Sql: aws.String("select current_database()"), WorkgroupName: aws.String("demo")})
	if err != nil {
		t.Fatal(err)
	}
	if d := waitFinal(t, root, aws.ToString(out.Id)); d.Status != types.StatusStringFinished || aws.ToString(d.Database) != "dev" {
		t.Fatalf("default database: %s %q", d.Status, aws.ToString(d.Database))
	}

	// A role session without an identity context: IAMR:<role name>.
	as, err := srv.STS(srv.App).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("plain")})
	if err != nil {
		t.Fatal(err)
	}
	role := dataClient(srv, aws.Credentials{AccessKeyID: aws.ToString(as.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(as.Credentials.SecretAccessKey), SessionToken: aws.ToString(as.Credentials.SessionToken)})
	id = execute(t, role, "select current_user")
	waitFinal(t, role, id)
	res, err = role.GetStatementResult(ctx, &redshiftdata.GetStatementResultInput{Id: &id})
	if err != nil || str(res.Records[0][0]) != "IAMR:analyst" {
		t.Fatalf("role's user: %v %+v", err, res)
	}
	// Root's statement is not the role's, and the other way round.
	_, err = role.DescribeStatement(ctx, &redshiftdata.DescribeStatementInput{Id: out.Id})
	wantAPIError(t, err, "ResourceNotFoundException", 400, "")
}

func TestDataAPICancelAndLimits(t *testing.T) {
	t.Parallel()
	srv, pg := dataWorld(t, func(c *config.Config) { c.DataAPI.MaxActiveStatements = 1 })
	ctx := context.Background()
	alice := dataClient(srv, srv.IdentitySession(t, "alice", testserver.AnalystRoleArn))
	id := execute(t, alice, "select pg_sleep(120) /* long */")
	waitStatus(t, alice, id, types.StatusStringStarted)

	admin, err := pgx.Connect(ctx, pg.DSN("dev"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	running := func() int {
		var n int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE usename = 'AWSIDC:alice' AND state = 'active' AND query LIKE '%pg_sleep(120)%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if running() != 1 {
		t.Fatal("the statement's query is not running upstream")
	}

	// The pool is full.
	_, err = alice.ExecuteStatement(ctx, &redshiftdata.ExecuteStatementInput{Sql: aws.String("select 1"), WorkgroupName: aws.String("demo"), Database: aws.String("dev")})
	var full *types.ActiveStatementsExceededException
	if !errors.As(err, &full) {
		t.Fatalf("second statement: %v", err)
	}

	out, err := alice.CancelStatement(ctx, &redshiftdata.CancelStatementInput{Id: &id})
	if err != nil || !aws.ToBool(out.Status) {
		t.Fatalf("cancel: %v", err)
	}
	d := waitFinal(t, alice, id)
	if d.Status != types.StatusStringAborted {
		t.Fatalf("cancelled statement: %s %q", d.Status, aws.ToString(d.Error))
	}
	eventually(t, 10*time.Second, "upstream backend stopped", func() (bool, error) { return running() == 0, nil })
	_, err = alice.CancelStatement(ctx, &redshiftdata.CancelStatementInput{Id: &id})
	wantAPIError(t, err, "ValidationException", 400, "")

	// The slot is free again.
	id = execute(t, alice, "select 1")
	if d := waitFinal(t, alice, id); d.Status != types.StatusStringFinished {
		t.Fatalf("after cancel: %s", d.Status)
	}
}
