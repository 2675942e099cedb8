package server

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/dataapi"
	"github.com/idcgate/idcgate/internal/protocol/awsjson"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/validation"
)

// serviceDataAPI is the Redshift Data API's signing name (RedshiftData.*).
const serviceDataAPI = "redshift-data"

// dataAPIOps are the RedshiftData.* operations served (BEHAVIOUR 14).
var dataAPIOps = opTable[handler]{unknown: notServedBy("the Redshift Data API"), before: dataAPIRuns, ops: map[string]handler{
	"ExecuteStatement":      (*Server).executeStatement,
	"BatchExecuteStatement": (*Server).batchExecuteStatement,
	"DescribeStatement":     (*Server).describeStatement,
	"GetStatementResult":    (*Server).getStatementResult,
	"GetStatementResultV2":  (*Server).getStatementResultV2,
	"CancelStatement":       (*Server).cancelStatement,
	"ListStatements":        (*Server).listStatements,
	"ListDatabases": metaOp((*dataapi.Service).ListDatabases, func(_ dataapi.MetaRequest, list []string, next *string) any {
		return listDatabasesOutput{Databases: list, NextToken: next}
	}),
	"ListSchemas": metaOp((*dataapi.Service).ListSchemas, func(_ dataapi.MetaRequest, list []string, next *string) any {
		return listSchemasOutput{Schemas: list, NextToken: next}
	}),
	"ListTables":    metaOp((*dataapi.Service).ListTables, wireTables),
	"DescribeTable": metaOp((*dataapi.Service).DescribeTable, wireTableColumns),
}}

func (s *Server) serveDataAPI(c *call) (any, error) {
	return serveOp(s, c, dataAPIOps)
}

// dataAPIRuns refuses every operation when there is no Data API: it runs
// statements through the gateway's upstream plumbing, which
// gateway.disabled turns off.
func dataAPIRuns(s *Server, _ *call) error {
	if s.d.DataAPI == nil {
		return apierror.New(dataapi.ErrDatabaseConnection, "The Redshift Data API needs idcgate's gateway and its upstream PostgreSQL (gateway.disabled is set).")
	}
	return nil
}

// Wire shapes of the redshift-data model (2019-12-20): UpperCamel members
// but for Field, ColumnMetadata, SqlParameter and TableMember, timestamps
// in epoch seconds.

type sqlParameterWire struct {
	Name  *string `json:"name"`
	Value *string `json:"value"`
}

type executeInput struct {
	Sql                     *string            `json:"Sql"`
	Sqls                    []string           `json:"Sqls"`
	ClientToken             *string            `json:"ClientToken"`
	ClusterIdentifier       *string            `json:"ClusterIdentifier"`
	Database                *string            `json:"Database"`
	DbUser                  *string            `json:"DbUser"`
	Parameters              []sqlParameterWire `json:"Parameters"`
	ResultFormat            *string            `json:"ResultFormat"`
	SecretArn               *string            `json:"SecretArn"`
	SessionId               *string            `json:"SessionId"`
	SessionKeepAliveSeconds *int32             `json:"SessionKeepAliveSeconds"`
	StatementName           *string            `json:"StatementName"`
	WithEvent               *bool              `json:"WithEvent"`
	WorkgroupName           *string            `json:"WorkgroupName"`
}

type executeOutput struct {
	CreatedAt     *awsjson.Epoch `json:"CreatedAt,omitempty"`
	Database      *string        `json:"Database,omitempty"`
	DbGroups      []string       `json:"DbGroups,omitempty"`
	DbUser        *string        `json:"DbUser,omitempty"`
	Id            string         `json:"Id"`
	WorkgroupName *string        `json:"WorkgroupName,omitempty"`
}

// statementID is what the audit record notes of a call's answer.
func (o executeOutput) statementID() string { return o.Id }

type columnWire struct {
	ColumnDefault   *string `json:"columnDefault,omitempty"`
	IsCaseSensitive bool    `json:"isCaseSensitive"`
	IsCurrency      bool    `json:"isCurrency"`
	IsSigned        bool    `json:"isSigned"`
	Label           string  `json:"label"`
	Length          int32   `json:"length"`
	Name            string  `json:"name"`
	Nullable        int32   `json:"nullable"`
	Precision       int32   `json:"precision"`
	Scale           int32   `json:"scale"`
	SchemaName      string  `json:"schemaName"`
	TableName       string  `json:"tableName"`
	TypeName        string  `json:"typeName"`
}

func wireColumn(c dataapi.Column) columnWire {
	return columnWire{IsCaseSensitive: c.CaseSens, IsCurrency: c.Currency, IsSigned: c.Signed, Label: c.Name, Length: c.Length,
		Name: c.Name, Nullable: c.Nullable, Precision: c.Precision, Scale: c.Scale, SchemaName: c.SchemaName, TableName: c.TableName, TypeName: c.TypeName}
}

func wireColumns(cols []dataapi.Column) []columnWire {
	return wireAll(cols, wireColumn)
}

type subStatementWire struct {
	Id              string         `json:"Id"`
	CreatedAt       *awsjson.Epoch `json:"CreatedAt,omitempty"`
	Duration        int64          `json:"Duration"`
	Error           *string        `json:"Error,omitempty"`
	HasResultSet    bool           `json:"HasResultSet"`
	QueryString     string         `json:"QueryString"`
	RedshiftQueryId int64          `json:"RedshiftQueryId"`
	ResultRows      int64          `json:"ResultRows"`
	ResultSize      int64          `json:"ResultSize"`
	Status          string         `json:"Status"`
	UpdatedAt       *awsjson.Epoch `json:"UpdatedAt,omitempty"`
}

type describeOutput struct {
	Id              string             `json:"Id"`
	CreatedAt       *awsjson.Epoch     `json:"CreatedAt,omitempty"`
	Database        string             `json:"Database,omitempty"`
	DbUser          string             `json:"DbUser,omitempty"`
	Duration        int64              `json:"Duration"`
	Error           *string            `json:"Error,omitempty"`
	HasResultSet    bool               `json:"HasResultSet"`
	QueryParameters []sqlParameterWire `json:"QueryParameters,omitempty"`
	QueryString     *string            `json:"QueryString,omitempty"`
	RedshiftPid     int64              `json:"RedshiftPid"`
	RedshiftQueryId int64              `json:"RedshiftQueryId"`
	ResultFormat    string             `json:"ResultFormat"`
	ResultRows      int64              `json:"ResultRows"`
	ResultSize      int64              `json:"ResultSize"`
	Status          string             `json:"Status"`
	SubStatements   []subStatementWire `json:"SubStatements,omitempty"`
	UpdatedAt       *awsjson.Epoch     `json:"UpdatedAt,omitempty"`
	WorkgroupName   string             `json:"WorkgroupName,omitempty"`
}

func wireParams(ps []dataapi.Param) []sqlParameterWire {
	if len(ps) == 0 {
		return nil
	}
	out := make([]sqlParameterWire, len(ps))
	for i := range ps {
		out[i] = sqlParameterWire{Name: &ps[i].Name, Value: &ps[i].Value}
	}
	return out
}

func wireDescribe(st *dataapi.Statement) describeOutput {
	out := describeOutput{
		Id: st.ID, CreatedAt: awsjson.EpochOf(st.CreatedAt), Database: st.Database, DbUser: st.DbUser, Duration: int64(st.Duration),
		Error: str(st.Error), QueryParameters: wireParams(st.Params), RedshiftPid: st.Pid, ResultFormat: st.ResultFormat,
		Status: string(st.Status), UpdatedAt: awsjson.EpochOf(st.UpdatedAt), WorkgroupName: st.Workgroup,
	}
	if !st.Batch {
		sub := st.Subs[0]
		out.QueryString = &sub.SQL
		out.HasResultSet = sub.HasResultSet
		out.ResultRows, out.ResultSize = sub.ResultRows, sub.ResultSize
		return out
	}
	out.ResultRows, out.ResultSize = -1, -1
	for i, sub := range st.Subs {
		out.HasResultSet = out.HasResultSet || sub.HasResultSet
		out.SubStatements = append(out.SubStatements, subStatementWire{
			Id: st.ID + ":" + strconv.Itoa(i+1), CreatedAt: awsjson.EpochOf(sub.CreatedAt), Duration: int64(sub.Duration), Error: str(sub.Error),
			HasResultSet: sub.HasResultSet, QueryString: sub.SQL, RedshiftQueryId: sub.QueryID, ResultRows: sub.ResultRows,
			ResultSize: sub.ResultSize, Status: string(sub.Status), UpdatedAt: awsjson.EpochOf(sub.UpdatedAt),
		})
	}
	return out
}

// Input constraints of the model.
var (
	statementIDRe   = regexp.MustCompile(`^[a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}(:\d+)?$`)
	parameterNameRe = regexp.MustCompile(`^[0-9a-zA-Z_]+$`)
)

const (
	statementIDPattern   = `^[a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}(:\d+)?$`
	parameterNamePattern = `^[0-9a-zA-Z_]+$`
)

// dataTarget is the workgroup a call names, found and authorized: the
// operation's action on the workgroup's ARN, and for a caller without an
// identity context redshift-serverless:GetCredentials as well (AWS asks
// it of IAM-derived database users). A workgroup that does not exist is
// authorized on the wildcard first, so a caller who may not act learns
// nothing.
func (s *Server) dataTarget(c *call, workgroup, cluster, dbUser, secretArn *string) (serverless.Workgroup, error) {
	var v validation.Collector
	switch {
	case cluster != nil:
		return serverless.Workgroup{}, validation.Newf("ClusterIdentifier is not supported: this endpoint serves Redshift Serverless workgroups; use WorkgroupName.")
	case workgroup == nil:
		return serverless.Workgroup{}, validation.Newf("Either ClusterIdentifier or WorkgroupName is required.")
	case dbUser != nil:
		return serverless.Workgroup{}, validation.Newf("DbUser is not supported for Redshift Serverless: the database user is derived from the caller's identity.")
	case secretArn != nil:
		return serverless.Workgroup{}, validation.Newf("SecretArn is not supported on this endpoint: the database user is derived from the caller's identity.")
	}
	if v.Length("WorkgroupName", *workgroup, 3, 64); v.Err() != nil {
		return serverless.Workgroup{}, v.Err()
	}
	wg, err := s.d.Serverless.GetWorkgroup(c.ctx, s.scope(c), *workgroup)
	arn := wg.WorkgroupArn
	if errors.Is(err, serverless.ErrNotFound) {
		arn = s.wildcardARN(c, "workgroup")
	} else if err != nil {
		return wg, err
	}
	if err := s.authorize(c, serviceDataAPI, arn); err != nil {
		return wg, err
	}
	if c.principal.IdentityContext == nil {
		if err := auth.Authorize(c.principal, serviceServerless+":GetCredentials", arn, c.authReq, nil); err != nil {
			return wg, err
		}
	}
	if err != nil {
		return wg, validation.Newf("Workgroup %s does not exist in account %s, region %s.", *workgroup, c.principal.Account, s.d.Region)
	}
	if wg.Status != serverless.StatusAvailable {
		return wg, validation.Newf("Workgroup %s is %s; it must be AVAILABLE to run statements.", wg.WorkgroupName, wg.Status)
	}
	return wg, nil
}

// dataCaller resolves who runs statements on wg, and the database: given,
// or (for long-term credentials only, as AWS says) the namespace's.
func (s *Server) dataCaller(c *call, wg serverless.Workgroup, database *string) (dataapi.Caller, string, error) {
	caller, err := s.d.DataAPI.Resolver.Resolve(c.ctx, s.scope(c), c.principal, wg)
	if err != nil {
		return caller, "", err
	}
	if database != nil {
		var v validation.Collector
		v.Length("Database", *database, 1, 63)
		return caller, *database, v.Err()
	}
	if caller.Temporary {
		return caller, "", validation.Newf("Database is required when you use temporary credentials.")
	}
	ns, err := s.d.Serverless.GetNamespace(c.ctx, s.scope(c), wg.NamespaceName)
	if err != nil {
		return caller, "", err
	}
	return caller, ns.DbName, nil
}

func dataScope(s *Server, c *call) dataapi.Scope {
	return dataapi.Scope{Account: c.principal.Account, Region: s.d.Region}
}

func (s *Server) executeStatement(c *call) (any, error) { return s.execute(c, false) }

func (s *Server) batchExecuteStatement(c *call) (any, error) { return s.execute(c, true) }

func (s *Server) execute(c *call, batch bool) (any, error) {
	var in executeInput
	var sqls []string
	var params []dataapi.Param
	if err := decodeValid(c, &in, func(v *validation.Collector) {
		if batch {
			if v.Required("Sqls", in.Sqls != nil) && v.Items("Sqls", in.Sqls, 1, 40) {
				for i, q := range in.Sqls {
					v.Length("Sqls."+strconv.Itoa(i+1)+".member", q, 1, 100000)
				}
			}
			sqls = in.Sqls
		} else {
			if v.Required("Sql", in.Sql != nil) {
				v.Length("Sql", *in.Sql, 1, 100000)
				sqls = []string{*in.Sql}
			}
		}
		if in.StatementName != nil {
			v.Length("StatementName", *in.StatementName, 0, 500)
		}
		if in.ResultFormat != nil {
			v.OneOf("ResultFormat", *in.ResultFormat, dataapi.FormatJSON, dataapi.FormatCSV)
		}
		if in.ClientToken != nil {
			v.Length("ClientToken", *in.ClientToken, 1, 64)
		}
		if in.Parameters != nil && v.Range("Parameters", int64(len(in.Parameters)), 1, 10000) {
			for i, p := range in.Parameters {
				path := "Parameters." + strconv.Itoa(i+1) + ".member."
				if v.Required(path+"name", p.Name != nil) {
					v.Pattern(path+"name", *p.Name, parameterNameRe, parameterNamePattern)
				}
				if v.Required(path+"value", p.Value != nil) {
					v.Length(path+"value", *p.Value, 1, 1<<20)
				}
				if p.Name != nil && p.Value != nil {
					params = append(params, dataapi.Param{Name: *p.Name, Value: *p.Value})
				}
			}
		}
	}); err != nil {
		return nil, err
	}
	if in.SessionId != nil || in.SessionKeepAliveSeconds != nil {
		return nil, validation.Newf("SessionId and SessionKeepAliveSeconds are not supported on this endpoint: each statement runs in a session of its own.")
	}
	wg, err := s.dataTarget(c, in.WorkgroupName, in.ClusterIdentifier, in.DbUser, in.SecretArn)
	if err != nil {
		return nil, err
	}
	caller, database, err := s.dataCaller(c, wg, in.Database)
	if err != nil {
		return nil, err
	}
	req := dataapi.ExecuteRequest{
		Scope: dataScope(s, c), Caller: caller, Workgroup: dataapi.WorkgroupRef{Name: wg.WorkgroupName, ID: wg.WorkgroupId},
		Database: database, SQLs: sqls, Batch: batch, Params: params,
	}
	if in.StatementName != nil {
		req.Name = *in.StatementName
	}
	if in.ResultFormat != nil {
		req.ResultFormat = *in.ResultFormat
	}
	if in.ClientToken != nil {
		req.ClientToken = *in.ClientToken
	}
	st, err := s.d.DataAPI.Execute(c.ctx, req)
	if err != nil {
		return nil, err
	}
	c.log.Info("data api statement submitted", "statement", st.ID, "workgroup", st.Workgroup, "db_user", st.DbUser, "batch", batch)
	return executeOutput{CreatedAt: awsjson.EpochOf(st.CreatedAt), Database: &st.Database, DbGroups: st.DbGroups, DbUser: &st.DbUser,
		Id: st.ID, WorkgroupName: &st.Workgroup}, nil
}

type idInput struct {
	Id        *string `json:"Id"`
	NextToken *string `json:"NextToken"`
}

// statementCall decodes an Id (and NextToken) and authorizes the
// operation: statements are no IAM resource ("*"), ownership decides.
func (s *Server) statementCall(c *call) (idInput, error) {
	var in idInput
	if err := decodeValid(c, &in, func(v *validation.Collector) {
		if v.Required("Id", in.Id != nil) {
			v.Pattern("Id", *in.Id, statementIDRe, statementIDPattern)
		}
	}); err != nil {
		return in, err
	}
	return in, s.authorize(c, serviceDataAPI, "*")
}

func (s *Server) describeStatement(c *call) (any, error) {
	in, err := s.statementCall(c)
	if err != nil {
		return nil, err
	}
	st, err := s.d.DataAPI.Describe(c.ctx, dataScope(s, c), dataapi.OwnerOf(c.principal), *in.Id)
	if err != nil {
		return nil, err
	}
	return wireDescribe(st), nil
}

type cancelOutput struct {
	Status bool `json:"Status"`
}

func (s *Server) cancelStatement(c *call) (any, error) {
	in, err := s.statementCall(c)
	if err != nil {
		return nil, err
	}
	if err := s.d.DataAPI.Cancel(c.ctx, dataScope(s, c), dataapi.OwnerOf(c.principal), *in.Id); err != nil {
		return nil, err
	}
	return cancelOutput{Status: true}, nil
}

type resultOutput struct {
	ColumnMetadata []columnWire    `json:"ColumnMetadata"`
	Records        json.RawMessage `json:"Records"`
	TotalNumRows   int64           `json:"TotalNumRows"`
	NextToken      *string         `json:"NextToken,omitempty"`
	ResultFormat   string          `json:"ResultFormat,omitempty"`
}

type csvRecordsWire struct {
	CSVRecords string `json:"CSVRecords"`
}

func (s *Server) getStatementResult(c *call) (any, error) {
	return s.statementResult(c, dataapi.FormatJSON)
}

func (s *Server) getStatementResultV2(c *call) (any, error) {
	return s.statementResult(c, dataapi.FormatCSV)
}

func (s *Server) statementResult(c *call, format string) (any, error) {
	in, err := s.statementCall(c)
	if err != nil {
		return nil, err
	}
	next := ""
	if in.NextToken != nil {
		next = *in.NextToken
	}
	p, err := s.d.DataAPI.Result(c.ctx, dataScope(s, c), dataapi.OwnerOf(c.principal), *in.Id, format, next)
	if err != nil {
		return nil, err
	}
	out := resultOutput{ColumnMetadata: wireColumns(p.Columns), Records: p.Records, TotalNumRows: p.TotalRows, NextToken: str(p.NextToken)}
	if format == dataapi.FormatCSV {
		out.ResultFormat = dataapi.FormatCSV
		recs := []csvRecordsWire{}
		if len(p.Records) > 0 {
			recs = append(recs, csvRecordsWire{CSVRecords: string(p.Records)})
		}
		b, err := json.Marshal(recs)
		if err != nil {
			return nil, err
		}
		out.Records = b
	}
	return out, nil
}

type listStatementsInput struct {
	ClusterIdentifier *string `json:"ClusterIdentifier"`
	Database          *string `json:"Database"`
	MaxResults        *int64  `json:"MaxResults"`
	NextToken         *string `json:"NextToken"`
	RoleLevel         *bool   `json:"RoleLevel"`
	StatementName     *string `json:"StatementName"`
	Status            *string `json:"Status"`
	WorkgroupName     *string `json:"WorkgroupName"`
}

type statementDataWire struct {
	Id               string             `json:"Id"`
	CreatedAt        *awsjson.Epoch     `json:"CreatedAt,omitempty"`
	IsBatchStatement bool               `json:"IsBatchStatement"`
	QueryParameters  []sqlParameterWire `json:"QueryParameters,omitempty"`
	QueryString      *string            `json:"QueryString,omitempty"`
	QueryStrings     []string           `json:"QueryStrings,omitempty"`
	ResultFormat     string             `json:"ResultFormat"`
	StatementName    *string            `json:"StatementName,omitempty"`
	Status           string             `json:"Status"`
	UpdatedAt        *awsjson.Epoch     `json:"UpdatedAt,omitempty"`
}

type listStatementsOutput struct {
	Statements []statementDataWire `json:"Statements"`
	NextToken  *string             `json:"NextToken,omitempty"`
}

func (s *Server) listStatements(c *call) (any, error) {
	var in listStatementsInput
	if err := decodeValid(c, &in, func(v *validation.Collector) {
		if in.MaxResults != nil {
			v.Range("MaxResults", *in.MaxResults, 0, 100)
		}
		if in.Status != nil {
			v.OneOf("Status", *in.Status, "SUBMITTED", "PICKED", "STARTED", "FINISHED", "ABORTED", "FAILED", "ALL")
		}
		if in.StatementName != nil {
			v.Length("StatementName", *in.StatementName, 0, 500)
		}
	}); err != nil {
		return nil, err
	}
	if in.ClusterIdentifier != nil {
		return nil, validation.Newf("ClusterIdentifier is not supported: this endpoint serves Redshift Serverless workgroups; use WorkgroupName.")
	}
	if c.principal.IdentityContext != nil && in.WorkgroupName == nil {
		return nil, validation.Newf("WorkgroupName is required to list statements with trusted identity propagation.")
	}
	if err := s.authorize(c, serviceDataAPI, "*"); err != nil {
		return nil, err
	}
	req := dataapi.ListRequest{Scope: dataScope(s, c), Owner: dataapi.OwnerOf(c.principal), RoleLevel: in.RoleLevel == nil || *in.RoleLevel}
	if in.MaxResults != nil {
		req.MaxResults = int(*in.MaxResults)
	}
	setGiven(map[*string]*string{&req.NextToken: in.NextToken, &req.Status: in.Status, &req.Name: in.StatementName, &req.Workgroup: in.WorkgroupName, &req.Database: in.Database})
	list, next, err := s.d.DataAPI.List(c.ctx, req)
	if err != nil {
		return nil, err
	}
	out := listStatementsOutput{Statements: make([]statementDataWire, 0, len(list)), NextToken: str(next)}
	for i := range list {
		st := &list[i]
		w := statementDataWire{Id: st.ID, CreatedAt: awsjson.EpochOf(st.CreatedAt), IsBatchStatement: st.Batch, QueryParameters: wireParams(st.Params),
			ResultFormat: st.ResultFormat, StatementName: str(st.Name), Status: string(st.Status), UpdatedAt: awsjson.EpochOf(st.UpdatedAt)}
		if st.Batch {
			for _, sub := range st.Subs {
				w.QueryStrings = append(w.QueryStrings, sub.SQL)
			}
		} else {
			w.QueryString = &st.Subs[0].SQL
		}
		out.Statements = append(out.Statements, w)
	}
	return out, nil
}

// setGiven copies each optional member given into its request field.
func setGiven(members map[*string]*string) {
	for field, member := range members {
		if member != nil {
			*field = *member
		}
	}
}

type metaInput struct {
	ClusterIdentifier *string `json:"ClusterIdentifier"`
	ConnectedDatabase *string `json:"ConnectedDatabase"`
	Database          *string `json:"Database"`
	DbUser            *string `json:"DbUser"`
	MaxResults        *int64  `json:"MaxResults"`
	NextToken         *string `json:"NextToken"`
	Schema            *string `json:"Schema"`
	SchemaPattern     *string `json:"SchemaPattern"`
	SecretArn         *string `json:"SecretArn"`
	Table             *string `json:"Table"`
	TablePattern      *string `json:"TablePattern"`
	WorkgroupName     *string `json:"WorkgroupName"`
}

// metaRequest decodes and checks a catalog call, and resolves its caller.
func (s *Server) metaRequest(c *call) (dataapi.MetaRequest, error) {
	var in metaInput
	if err := decodeValid(c, &in, func(v *validation.Collector) {
		v.Required("Database", in.Database != nil)
		if in.MaxResults != nil {
			v.Range("MaxResults", *in.MaxResults, 0, 1000)
		}
	}); err != nil {
		return dataapi.MetaRequest{}, err
	}
	wg, err := s.dataTarget(c, in.WorkgroupName, in.ClusterIdentifier, in.DbUser, in.SecretArn)
	if err != nil {
		return dataapi.MetaRequest{}, err
	}
	caller, database, err := s.dataCaller(c, wg, in.Database)
	if err != nil {
		return dataapi.MetaRequest{}, err
	}
	// PostgreSQL reaches one database per connection: ConnectedDatabase,
	// when given, must be Database (ours: Redshift can read across).
	if in.ConnectedDatabase != nil && *in.ConnectedDatabase != database {
		return dataapi.MetaRequest{}, validation.Newf("ConnectedDatabase %s differs from Database %s: this endpoint's PostgreSQL reads one database per connection.", *in.ConnectedDatabase, database)
	}
	req := dataapi.MetaRequest{Scope: dataScope(s, c), Caller: caller, Workgroup: dataapi.WorkgroupRef{Name: wg.WorkgroupName, ID: wg.WorkgroupId}, Database: database}
	if in.MaxResults != nil {
		req.MaxResults = int(*in.MaxResults)
	}
	setGiven(map[*string]*string{&req.NextToken: in.NextToken, &req.Schema: in.Schema, &req.SchemaPattern: in.SchemaPattern, &req.Table: in.Table, &req.TablePattern: in.TablePattern})
	return req, nil
}

// metaOp is a catalog operation: the request read and its caller resolved
// (metaRequest), one page of the catalog, and that page's wire form.
func metaOp[T any](page func(*dataapi.Service, context.Context, dataapi.MetaRequest) ([]T, string, error), wire func(req dataapi.MetaRequest, items []T, next *string) any) handler {
	return func(s *Server, c *call) (any, error) {
		req, err := s.metaRequest(c)
		if err != nil {
			return nil, err
		}
		items, next, err := page(s.d.DataAPI, c.ctx, req)
		if err != nil {
			return nil, err
		}
		return wire(req, items, str(next)), nil
	}
}

type listDatabasesOutput struct {
	Databases []string `json:"Databases"`
	NextToken *string  `json:"NextToken,omitempty"`
}

type listSchemasOutput struct {
	Schemas   []string `json:"Schemas"`
	NextToken *string  `json:"NextToken,omitempty"`
}

type tableMemberWire struct {
	Name   string `json:"name"`
	Schema string `json:"schema"`
	Type   string `json:"type"`
}

type listTablesOutput struct {
	Tables    []tableMemberWire `json:"Tables"`
	NextToken *string           `json:"NextToken,omitempty"`
}

func wireTables(_ dataapi.MetaRequest, list []dataapi.Table, next *string) any {
	return listTablesOutput{Tables: wireAll(list, func(t dataapi.Table) tableMemberWire {
		return tableMemberWire{Name: t.Name, Schema: t.Schema, Type: t.Type}
	}), NextToken: next}
}

type describeTableOutput struct {
	ColumnList []columnWire `json:"ColumnList"`
	TableName  *string      `json:"TableName,omitempty"`
	NextToken  *string      `json:"NextToken,omitempty"`
}

func wireTableColumns(req dataapi.MetaRequest, list []dataapi.TableColumn, next *string) any {
	return describeTableOutput{ColumnList: wireAll(list, func(col dataapi.TableColumn) columnWire {
		w := wireColumn(col.Column)
		w.ColumnDefault = col.Default
		return w
	}), NextToken: next, TableName: str(req.Table)}
}
