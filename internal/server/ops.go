package server

import (
	"maps"
	"slices"
)

// unknownOp is the one metric label and audit eventName of every operation
// name this endpoint does not serve: a name is the client's text, so it
// never becomes a series or a record field of its own (BEHAVIOUR 11.3, 11.4).
const unknownOp = "unknown"

// knownOps are the operations served, by service. An operation outside
// these sets is answered as unknown, and counted and recorded as unknownOp.
// TestKnownOpsCoverEverySwitch keeps them in step with the handlers.
var knownOps = map[string]map[string]bool{
	serviceServerless:    setOf(slices.Collect(maps.Keys(serverlessOps))...),
	serviceSTS:           setOf("AssumeRole", "GetCallerIdentity", "GetSessionToken", "AssumeRoleWithWebIdentity", "GetAccessKeyInfo"),
	serviceDataAPI:       setOf(slices.Collect(maps.Keys(dataAPIOps))...),
	serviceSSOAdmin:      setOf(ssoAdminOpNames()...),
	serviceRedshift:      setOf("CreateRedshiftIdcApplication", "ModifyRedshiftIdcApplication", "DescribeRedshiftIdcApplications", "DeleteRedshiftIdcApplication"),
	serviceIAM:           setOf(append(iamOps, iamOIDCOps...)...),
	serviceIdentityStore: setOf(slices.Collect(maps.Keys(identityStoreOps))...),
	serviceOIDC:          setOf("CreateToken", "CreateTokenWithIAM", "RegisterClient", "StartDeviceAuthorization"),
	serviceAdmin: setOf("IssueTestToken", "SetUserPassword", "SetFaults", "GetFaults", "LookupEvents", "GetUpstreamCA", "GetLoginCandidates", "InspectToken",
		"RotateWorkgroupKey", "RetireWorkgroupKeys", "DescribeWorkgroupKeys"),
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

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

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
