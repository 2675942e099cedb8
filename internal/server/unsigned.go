package server

// unsignedOps are the operations served without a SigV4 signature, by
// service: those the AWS SDK models mark unauthenticated (the SDKs send
// them anonymously), each with a proof of its own in its input. Every
// other operation is refused without a valid signature (BEHAVIOUR 2.1).
var unsignedOps = map[string]map[string]bool{
	// The web identity token is the caller's credential (BEHAVIOUR 5.6).
	serviceSTS: {"AssumeRoleWithWebIdentity": true},
}
