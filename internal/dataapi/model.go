// Package dataapi is the Redshift Data API of idcgate's workgroups
// (BEHAVIOUR 14): statements accepted on the API, run asynchronously on the
// workgroup's upstream PostgreSQL as the caller's database role (the same
// role, groups and refusals as the gateway), their state and results kept
// in the store for a day, readable and cancellable only by the identity
// that ran them.
package dataapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors, mapped to the wire in internal/awserror.
var (
	// ErrNotFound: no statement with that id for this caller (another
	// caller's, expired, or never made).
	ErrNotFound = errors.New("dataapi: statement not found")
	// ErrActiveStatementsExceeded: the workgroup's pool of active
	// statements is full.
	ErrActiveStatementsExceeded = errors.New("dataapi: too many active statements")
	// ErrDatabaseConnection: a synchronous call (ListDatabases, …) could
	// not reach or log in to the workgroup's database.
	ErrDatabaseConnection = errors.New("dataapi: database connection failed")
)

// Status is a statement's (or sub-statement's) state, as AWS names it.
type Status string

// Statuses. SUBMITTED: accepted, waiting for a connection; PICKED: a
// connection is being opened; STARTED: running upstream; the rest are
// final.
const (
	StatusSubmitted Status = "SUBMITTED"
	StatusPicked    Status = "PICKED"
	StatusStarted   Status = "STARTED"
	StatusFinished  Status = "FINISHED"
	StatusFailed    Status = "FAILED"
	StatusAborted   Status = "ABORTED"
)

// Final reports whether s is a final state.
func (s Status) Final() bool {
	return s == StatusFinished || s == StatusFailed || s == StatusAborted
}

// Result formats.
const (
	FormatJSON = "JSON"
	FormatCSV  = "CSV"
)

// Scope is an account and region.
type Scope struct {
	Account string
	Region  string
}

// Owner is who may see a statement: the Identity Center user (empty for a
// caller without an identity context) together with the IAM role (or user)
// that ran it. Session is the caller's ARN, for ListStatements' RoleLevel
// false.
type Owner struct {
	UserID  string `json:"u,omitempty"`
	RoleARN string `json:"r"`
	Session string `json:"s"`
}

// key is the owner's index segment: a hash, so user ids and ARNs do not
// appear in store keys.
func (o Owner) key() string {
	h := sha256.Sum256([]byte(o.UserID + "\x00" + o.RoleARN))
	return hex.EncodeToString(h[:16])
}

// Same reports whether o and other are the same owner (user and role).
func (o Owner) Same(other Owner) bool {
	return o.UserID == other.UserID && o.RoleARN == other.RoleARN
}

// Param is a named SQL parameter (":name" in the SQL text).
type Param struct {
	Name  string `json:"n"`
	Value string `json:"v"`
}

// Column is a result column's metadata (AWS's ColumnMetadata).
type Column struct {
	Name       string `json:"n"`
	TypeName   string `json:"t"`
	Nullable   int32  `json:"nl"`
	Precision  int32  `json:"p,omitempty"`
	Scale      int32  `json:"s,omitempty"`
	Length     int32  `json:"l,omitempty"`
	Signed     bool   `json:"sg,omitempty"`
	Currency   bool   `json:"c,omitempty"`
	CaseSens   bool   `json:"cs,omitempty"`
	SchemaName string `json:"sn,omitempty"`
	TableName  string `json:"tn,omitempty"`
}

// Sub is one SQL statement of a statement (one for ExecuteStatement, one
// per SQL text for BatchExecuteStatement).
type Sub struct {
	SQL          string        `json:"q"`
	Status       Status        `json:"st"`
	Error        string        `json:"e,omitempty"`
	HasResultSet bool          `json:"h,omitempty"`
	ResultRows   int64         `json:"rr"`
	ResultSize   int64         `json:"rs"`
	Columns      []Column      `json:"c,omitempty"`
	Pages        int           `json:"pg,omitempty"`
	CreatedAt    time.Time     `json:"ca"`
	UpdatedAt    time.Time     `json:"ua"`
	Duration     time.Duration `json:"d,omitempty"`
	QueryID      int64         `json:"qid,omitempty"`
}

// Statement is a statement's record.
type Statement struct {
	ID           string        `json:"id"`
	Account      string        `json:"a"`
	Region       string        `json:"r"`
	Workgroup    string        `json:"wg"`
	WorkgroupID  string        `json:"wgid"`
	Database     string        `json:"db"`
	DbUser       string        `json:"du"`
	DbGroups     []string      `json:"dg,omitempty"`
	Owner        Owner         `json:"o"`
	Name         string        `json:"n,omitempty"`
	Batch        bool          `json:"b,omitempty"`
	Params       []Param       `json:"p,omitempty"`
	ResultFormat string        `json:"f"`
	Status       Status        `json:"st"`
	Error        string        `json:"e,omitempty"`
	Subs         []Sub         `json:"subs"`
	CreatedAt    time.Time     `json:"ca"`
	UpdatedAt    time.Time     `json:"ua"`
	Duration     time.Duration `json:"d,omitempty"`
	Pid          int64         `json:"pid,omitempty"`
	// Runner is the process that runs the statement; Heartbeat is when it
	// last said it still does. A statement not final whose heartbeat is
	// stale has lost its runner (a crash, a replica gone) and is failed by
	// whichever replica notices first.
	Runner    string    `json:"rn,omitempty"`
	Heartbeat time.Time `json:"hb"`
	// CancelRequested is set by CancelStatement on any replica; the runner
	// cancels the upstream query when it sees it.
	CancelRequested bool `json:"cr,omitempty"`
	// ClientTokenKey is the store key of the statement's ClientToken entry.
	ClientTokenKey string `json:"ck,omitempty"`
}

// Store keys, under "da/" (the first segment: the statements' own).
//
//	da/s/<account>/<region>/<id>                  the statement
//	da/o/<account>/<region>/<owner>/<created>/<id> ListStatements' index, newest last
//	da/r/<id>/<sub>/<page>                         result pages
//	da/x/<expires>/<id>                            retention index
//	da/a/<account>/<region>/<id>                   statements not final (runner checks)
//	da/c/<account>/<region>/<owner>/<token hash>    ClientToken → id
const prefix = "da/"

func statementKey(sc Scope, id string) string {
	return prefix + "s/" + sc.Account + "/" + sc.Region + "/" + id
}

func ownerPrefix(sc Scope, o Owner) string {
	return prefix + "o/" + sc.Account + "/" + sc.Region + "/" + o.key() + "/"
}

func ownerKey(st *Statement) string {
	return ownerPrefix(Scope{st.Account, st.Region}, st.Owner) + timeKey(st.CreatedAt) + "/" + st.ID
}

func clientTokenKey(sc Scope, o Owner, token string) string {
	h := sha256.Sum256([]byte(token))
	return prefix + "c/" + sc.Account + "/" + sc.Region + "/" + o.key() + "/" + hex.EncodeToString(h[:16])
}

func resultPrefix(id string) string { return prefix + "r/" + id + "/" }

func pageKey(id string, sub, page int) string {
	return fmt.Sprintf("%s%03d/%06d", resultPrefix(id), sub, page)
}

func expiryKey(st *Statement, ttl time.Duration) string {
	return prefix + "x/" + timeKey(st.CreatedAt.Add(ttl)) + "/" + st.Account + "/" + st.Region + "/" + st.ID
}

func activeKey(st *Statement) string {
	return prefix + "a/" + st.Account + "/" + st.Region + "/" + st.ID
}

// timeKey orders times as strings (UTC nanoseconds, zero-padded).
func timeKey(t time.Time) string { return fmt.Sprintf("%020d", t.UnixNano()) }
