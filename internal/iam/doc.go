// Package iam parses AWS IAM JSON policy documents and evaluates requests
// against them with AWS's logic: an explicit Deny wins, then an Allow is
// needed, and anything else is an implicit deny. Identity, resource and
// session policies combine as PolicySets; DenyMessage renders AWS's
// AccessDenied text.
//
// Choices where AWS leaves room:
//   - a condition on a multi-valued key without ForAnyValue/ForAllValues
//     behaves as ForAnyValue for positive operators (and as "no value
//     matches" for negated ones);
//   - ForAllValues is true when the key is missing or empty (AWS's
//     documented behaviour);
//   - policy variables are substituted only under Version 2012-10-17; a
//     variable with no value and no default makes that entry not match.
package iam
