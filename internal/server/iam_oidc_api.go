package server

import (
	"encoding/xml"
	"fmt"

	"github.com/idcgate/idcgate/internal/iamstore"
	"github.com/idcgate/idcgate/internal/protocol/awsquery"
	"github.com/idcgate/idcgate/internal/validation"
)

type createOIDCProviderResult struct {
	XMLName                  xml.Name    `xml:"CreateOpenIDConnectProviderResult"`
	OpenIDConnectProviderArn string      `xml:"OpenIDConnectProviderArn"`
	Tags                     *iamTagsXML `xml:"Tags,omitempty"`
}

type getOIDCProviderResult struct {
	XMLName        xml.Name    `xml:"GetOpenIDConnectProviderResult"`
	Url            string      `xml:"Url"`
	ClientIDList   []string    `xml:"ClientIDList>member"`
	ThumbprintList []string    `xml:"ThumbprintList>member"`
	CreateDate     string      `xml:"CreateDate"`
	Tags           *iamTagsXML `xml:"Tags,omitempty"`
}

type oidcProviderEntryXML struct {
	Arn string `xml:"Arn"`
}

type listOIDCProvidersResult struct {
	XMLName                   xml.Name               `xml:"ListOpenIDConnectProvidersResult"`
	OpenIDConnectProviderList []oidcProviderEntryXML `xml:"OpenIDConnectProviderList>member"`
}

// listMembers reads <name>.member.N, in order, until the first gap.
func listMembers(params awsquery.Params, name string) []string {
	var out []string
	for i := 1; params.Has(fmt.Sprintf("%s.member.%d", name, i)); i++ {
		out = append(out, params.Get(fmt.Sprintf("%s.member.%d", name, i)))
	}
	return out
}

// iamOIDCProvider is iamLookup for OpenID Connect providers.
func (s *Server) iamOIDCProvider(c *call, arn string) (iamstore.OIDCProvider, error) {
	return iamLookup(s, c, "oidc-provider", arn, (*iamstore.Service).GetOIDCProvider, (*iamstore.OIDCProvider).ARN)
}

// iamOIDCOps are IAM's OpenID Connect provider actions (BEHAVIOUR 8.2),
// iamOps' entries.
var iamOIDCOps = map[string]queryHandler{
	"CreateOpenIDConnectProvider":   (*Server).createOIDCProvider,
	"GetOpenIDConnectProvider":      (*Server).getOIDCProvider,
	"ListOpenIDConnectProviders":    (*Server).listOIDCProviders,
	"ListOpenIDConnectProviderTags": (*Server).listOIDCProviderTags,
	"DeleteOpenIDConnectProvider":   (*Server).deleteOIDCProvider,
	"AddClientIDToOpenIDConnectProvider": changeOIDCProvider(func(params awsquery.Params) (iamstore.OIDCChange, error) {
		id, err := oidcClientID(params)
		return iamstore.OIDCChange{AddClientID: id}, err
	}),
	"RemoveClientIDFromOpenIDConnectProvider": changeOIDCProvider(func(params awsquery.Params) (iamstore.OIDCChange, error) {
		id, err := oidcClientID(params)
		return iamstore.OIDCChange{RemoveClientID: id}, err
	}),
	"UpdateOpenIDConnectProviderThumbprint": changeOIDCProvider(func(params awsquery.Params) (iamstore.OIDCChange, error) {
		return iamstore.OIDCChange{Thumbprints: orEmpty(listMembers(params, "ThumbprintList")), SetThumbprints: true}, nil
	}),
	"TagOpenIDConnectProvider": changeOIDCProvider(func(params awsquery.Params) (iamstore.OIDCChange, error) {
		return iamstore.OIDCChange{AddTags: orEmpty(iamTags(params))}, nil
	}),
	"UntagOpenIDConnectProvider": changeOIDCProvider(func(params awsquery.Params) (iamstore.OIDCChange, error) {
		return iamstore.OIDCChange{RemoveTagKeys: listMembers(params, "TagKeys")}, nil
	}),
}

func (s *Server) createOIDCProvider(c *call, params awsquery.Params) (any, error) {
	account := c.principal.Account
	in := iamstore.CreateOIDCProviderInput{URL: params.Get("Url"), ClientIDs: listMembers(params, "ClientIDList"),
		Thumbprints: listMembers(params, "ThumbprintList"), Tags: iamTags(params)}
	if err := iamstore.ValidateOIDCProvider(in); err != nil {
		return nil, err
	}
	if err := s.authorizeIAM(c, iamstore.OIDCProviderARN(account, in.URL)); err != nil {
		return nil, err
	}
	p, err := s.d.IAM.CreateOIDCProvider(c.ctx, account, in)
	if err != nil {
		return nil, err
	}
	return createOIDCProviderResult{OpenIDConnectProviderArn: p.ARN(), Tags: entityTags(p.Tags)}, nil
}

func (s *Server) getOIDCProvider(c *call, params awsquery.Params) (any, error) {
	p, err := s.iamOIDCProvider(c, params.Get("OpenIDConnectProviderArn"))
	if err != nil {
		return nil, err
	}
	return getOIDCProviderResult{Url: p.Resource(), ClientIDList: append([]string{}, p.ClientIDs...),
		ThumbprintList: append([]string{}, p.Thumbprints...), CreateDate: iamTime(p.CreateDate), Tags: entityTags(p.Tags)}, nil
}

func (s *Server) listOIDCProviders(c *call, _ awsquery.Params) (any, error) {
	if err := s.authorizeIAM(c, "*"); err != nil {
		return nil, err
	}
	ps, err := s.d.IAM.ListOIDCProviders(c.ctx, c.principal.Account)
	if err != nil {
		return nil, err
	}
	return listOIDCProvidersResult{OpenIDConnectProviderList: wireAll(ps, func(p iamstore.OIDCProvider) oidcProviderEntryXML {
		return oidcProviderEntryXML{Arn: p.ARN()}
	})}, nil
}

func (s *Server) listOIDCProviderTags(c *call, params awsquery.Params) (any, error) {
	page, err := iamPage(params)
	if err != nil {
		return nil, err
	}
	p, err := s.iamOIDCProvider(c, params.Get("OpenIDConnectProviderArn"))
	if err != nil {
		return nil, err
	}
	return tagsPage(c.op, p.Tags, page)
}

func (s *Server) deleteOIDCProvider(c *call, params awsquery.Params) (any, error) {
	arn := params.Get("OpenIDConnectProviderArn")
	p, err := s.iamOIDCProvider(c, arn)
	if err != nil {
		return nil, err
	}
	c.log.Info("oidc provider deleted", "provider", p.ARN())
	return nil, s.d.IAM.DeleteOIDCProvider(c.ctx, c.principal.Account, arn)
}

// changeOIDCProvider is an action that changes one provider: the change
// read from the request (a bad one refused first), then the provider
// looked up and authorized, then changed.
func changeOIDCProvider(read func(awsquery.Params) (iamstore.OIDCChange, error)) queryHandler {
	return func(s *Server, c *call, params awsquery.Params) (any, error) {
		ch, err := read(params)
		if err != nil {
			return nil, err
		}
		arn := params.Get("OpenIDConnectProviderArn")
		if _, err := s.iamOIDCProvider(c, arn); err != nil {
			return nil, err
		}
		return nil, s.d.IAM.UpdateOIDCProvider(c.ctx, c.principal.Account, arn, ch)
	}
}

// oidcClientID is the ClientID member: required, 1 to 255 characters.
func oidcClientID(params awsquery.Params) (string, error) {
	id := params.Get("ClientID")
	if !params.Has("ClientID") || id == "" {
		var v validation.Collector
		if v.Required("clientID", params.Has("ClientID")) {
			v.Length("clientID", id, 1, 255)
		}
		return "", v.Err()
	}
	return id, nil
}

// orEmpty is items, or an empty list for none (a change to no items).
func orEmpty[T any](items []T) []T {
	if items == nil {
		return []T{}
	}
	return items
}
