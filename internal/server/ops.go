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
	// CreateToken is refused with its own message, but it is SSO-OIDC's.
	serviceOIDC: setOf("CreateToken", "CreateTokenWithIAM"),
	serviceAdmin: setOf("IssueTestToken", "SetFaults", "GetFaults", "LookupEvents", "GetUpstreamCA", "GetLoginCandidates", "InspectToken",
		"RotateWorkgroupKey", "RetireWorkgroupKeys", "DescribeWorkgroupKeys"),
}

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
