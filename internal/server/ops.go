package server

import (
	"maps"
	"slices"

	"github.com/idcgate/idcgate/internal/protocol"
	"github.com/idcgate/idcgate/internal/protocol/awsjson"
	"github.com/idcgate/idcgate/internal/protocol/awsquery"
	"github.com/idcgate/idcgate/internal/validation"
)

// unknownOp is the one metric label and audit eventName of every operation
// name this endpoint does not serve: a name is the client's text, so it
// never becomes a series or a record field of its own (BEHAVIOUR 11.3, 11.4).
const unknownOp = "unknown"

// knownOps are the operations served, by service. An operation outside
// these sets is answered as unknown, and counted and recorded as unknownOp.
// They are read off the services' operation tables, so a table entry is
// always known (TestKnownOpsCoverEveryTable).
var knownOps = map[string]map[string]bool{
	serviceServerless:    setOf(serverlessOps.names()...),
	serviceSTS:           setOf(stsOps.names()...),
	serviceDataAPI:       setOf(dataAPIOps.names()...),
	serviceSSOAdmin:      setOf(ssoAdminOps.names()...),
	serviceRedshift:      setOf(redshiftOps.names()...),
	serviceIAM:           setOf(iamOps.names()...),
	serviceIdentityStore: setOf(identityStoreOps.names()...),
	serviceOIDC:          setOf(oidcOps.names()...),
	serviceAdmin:         setOf(adminOps.names()...),
}

// serviceHandlers serves each service's requests, by its signing name.
var serviceHandlers = map[string]handler{
	serviceServerless:    (*Server).serveServerless,
	serviceSTS:           (*Server).serveSTS,
	serviceRedshift:      (*Server).serveRedshift,
	serviceOIDC:          (*Server).serveOIDC,
	serviceAdmin:         (*Server).serveAdmin,
	serviceDataAPI:       (*Server).serveDataAPI,
	serviceSSOAdmin:      (*Server).serveSSOAdmin,
	serviceIAM:           (*Server).serveIAM,
	serviceIdentityStore: (*Server).serveIdentityStore,
}

// handler serves one operation of an API whose input is the request body
// (awsJson, restJson).
type handler = func(*Server, *call) (any, error)

// queryHandler serves one operation of an awsQuery API, given the
// request's parameters.
type queryHandler = func(*Server, *call, awsquery.Params) (any, error)

// opTable is one API's operations by name, and how the API words its
// answer to a name it does not serve (ErrUnknownOperation, each API's own
// message). Every service's dispatcher finds its operation here.
type opTable[H any] struct {
	ops     map[string]H
	unknown func(op string) string
	// before, when set, is what every operation of the API checks first,
	// once its name is found.
	before func(*Server, *call) error
}

// admit finds the operation c names and runs the API's own first checks.
func (t opTable[H]) admit(s *Server, c *call) (H, error) {
	h, err := t.find(c.op)
	if err == nil && t.before != nil {
		err = t.before(s, c)
	}
	return h, err
}

// find is the operation named op, or the API's unknown-operation error.
func (t opTable[H]) find(op string) (H, error) {
	h, ok := t.ops[op]
	if !ok {
		return h, t.refuse(op)
	}
	return h, nil
}

// refuse is the API's answer to an operation it does not serve.
func (t opTable[H]) refuse(op string) error {
	return protocol.Errorf(protocol.ErrUnknownOperation, t.unknown(op))
}

// names are the operations served.
func (t opTable[H]) names() []string { return slices.Collect(maps.Keys(t.ops)) }

// serveOp runs the operation of t that c names.
func serveOp(s *Server, c *call, t opTable[handler]) (any, error) {
	h, err := t.admit(s, c)
	if err != nil {
		return nil, err
	}
	return h(s, c)
}

// serveQuery reads an awsQuery request's parameters (a request that does
// not parse is refused first) and runs the operation of t it names.
func serveQuery(s *Server, c *call, t opTable[queryHandler]) (any, error) {
	params, err := awsquery.Parse(c.http, c.body)
	if err != nil {
		return nil, err
	}
	op, err := t.admit(s, c)
	if err != nil {
		return nil, err
	}
	return op(s, c, params)
}

// servedBy is a table's entries: each of names served by h.
func servedBy[H any](h H, names ...string) map[string]H {
	m := make(map[string]H, len(names))
	for _, n := range names {
		m[n] = h
	}
	return m
}

// joinOps is the entries of several groups in one table.
func joinOps[H any](groups ...map[string]H) map[string]H {
	m := map[string]H{}
	for _, g := range groups {
		maps.Copy(m, g)
	}
	return m
}

// notServedBy is the unknown-operation message of the awsJson APIs.
func notServedBy(api string) func(string) string {
	return func(op string) string {
		return "The operation " + quoteOp(op) + " is not supported by " + api + " on this endpoint."
	}
}

// notInVersion is the unknown-operation message of the awsQuery APIs.
func notInVersion(version string) func(string) string {
	return func(op string) string {
		return "Could not find operation " + quoteOp(op) + " for version " + version + "."
	}
}

// unsignedOps are the operations served without a SigV4 signature: the
// models' noAuth operations, which a client calls before it has any AWS
// credentials, each with a proof of its own in its input (BEHAVIOUR 2.2).
// Every other operation must be signed. Their callers are throttled by
// source address and audited as unauthenticated calls are (CloudTrail's
// Unknown identity, within the bucket of unauthenticated records), except
// a verified web identity, which is always recorded as itself.
var unsignedOps = map[string]map[string]bool{
	serviceOIDC: setOf("RegisterClient", "StartDeviceAuthorization", "CreateToken"),
	// The web identity token is the caller's credential (BEHAVIOUR 5.6).
	serviceSTS: setOf("AssumeRoleWithWebIdentity"),
}

// unsigned reports whether the routed operation takes no signature.
func (rt routed) unsigned() bool { return unsignedOps[rt.service][rt.op] }

func setOf(names ...string) map[string]bool { return servedBy(true, names...) }

// validOpName reports whether op can be an AWS operation name: an ASCII
// letter, then letters and digits, at most 128 bytes. Anything else
// (invalid UTF-8, control characters, dots, spaces) names no operation and
// is refused when the request is routed, before anything counts or records
// it.
func validOpName(op string) bool {
	if op == "" || len(op) > 128 {
		return false
	}
	for i := 0; i < len(op); i++ {
		c := op[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// opLabel is the operation as metrics and the audit trail name it: the
// operation when this endpoint serves it, else unknownOp.
func (rt routed) opLabel() string {
	if knownOps[rt.service][rt.op] {
		return rt.op
	}
	return unknownOp
}

// serviceLabel is the routed service, or unknownOp for a request that
// named none this endpoint serves.
func (rt routed) serviceLabel() string {
	if _, ok := knownOps[rt.service]; ok {
		return rt.service
	}
	return unknownOp
}

// wireAll is items in their wire form: an empty list is [], never null.
func wireAll[R, W any](items []R, wire func(R) W) []W {
	out := make([]W, 0, len(items))
	for _, r := range items {
		out = append(out, wire(r))
	}
	return out
}

// decodeValid decodes an awsJson or restJson input into in and checks it:
// check adds every problem it finds, and an input with any is refused
// with all of them, before anything is authorized or changed.
func decodeValid(c *call, in any, check func(v *validation.Collector)) error {
	if err := awsjson.Decode(c.body, in); err != nil {
		return err
	}
	var v validation.Collector
	check(&v)
	return v.Err()
}
