package oidc

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/idcgate/idcgate/internal/config"
)

// BenchmarkCreateTokenWithIAMDirectorySize: the jwt-bearer exchange with a
// directory of 10 users and of 10,000 users in 1,000 groups (each user in
// three), kept in the embedded store. The user is found through the email
// index and her groups through her memberships, so the two should cost the
// same (issue 21: ≥ 0.85 × the throughput with 10 users).
func BenchmarkCreateTokenWithIAMDirectorySize(b *testing.B) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	// One directory per size, built once for every round b.Run makes.
	type world struct {
		s  *Service
		in Input
	}
	worlds := map[int]world{}
	for _, n := range []int{10, 10000} {
		var w world
		w.s, w.in = directoryOf(b, now, n)
		worlds[n] = w
	}
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			s, in := worlds[n].s, worlds[n].in
			ctx := context.Background()
			if _, err := s.CreateTokenWithIAM(ctx, in); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.CreateTokenWithIAM(ctx, in); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// directoryOf is a service whose directory has n users in n/10 groups.
func directoryOf(b *testing.B, now time.Time, n int) (*Service, Input) {
	users := make([]config.DirectoryUser, n)
	for i := range users {
		users[i] = config.DirectoryUser{UserName: fmt.Sprintf("user-%05d", i), Emails: []string{fmt.Sprintf("user-%05d@example.com", i)}}
	}
	ngroups := max(n/10, 1)
	groups := make([]config.DirectoryGroup, ngroups)
	for i := range groups {
		groups[i].Name = fmt.Sprintf("group-%04d", i)
	}
	for i := range users {
		for k := range 3 {
			g := &groups[(i*7+k*13)%ngroups]
			g.Members = append(g.Members, users[i].UserName)
		}
	}
	s, assertion := matchingServiceGroups(b, now, users, groups)
	tok := assertion(fmt.Sprintf("user-%05d@example.com", n/2))
	in := Input{ClientId: p(app), GrantType: p(GrantJWTBearer), Assertion: &tok}
	return s, in
}
