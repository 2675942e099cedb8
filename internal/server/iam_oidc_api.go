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

// serveIAMOIDC serves IAM's OpenID Connect provider actions (BEHAVIOUR 8.2).
func (s *Server) serveIAMOIDC(c *call, params awsquery.Params) (any, error) {
	account := c.principal.Account
	arn := params.Get("OpenIDConnectProviderArn")
	switch c.op {
	case "CreateOpenIDConnectProvider":
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
	case "GetOpenIDConnectProvider":
		p, err := s.iamOIDCProvider(c, arn)
		if err != nil {
			return nil, err
		}
		return getOIDCProviderResult{Url: p.Resource(), ClientIDList: append([]string{}, p.ClientIDs...),
			ThumbprintList: append([]string{}, p.Thumbprints...), CreateDate: iamTime(p.CreateDate), Tags: entityTags(p.Tags)}, nil
	case "ListOpenIDConnectProviders":
		if err := s.authorizeIAM(c, "*"); err != nil {
			return nil, err
		}
		ps, err := s.d.IAM.ListOIDCProviders(c.ctx, account)
		if err != nil {
			return nil, err
		}
		return listOIDCProvidersResult{OpenIDConnectProviderList: wireAll(ps, func(p iamstore.OIDCProvider) oidcProviderEntryXML {
			return oidcProviderEntryXML{Arn: p.ARN()}
		})}, nil
	case "ListOpenIDConnectProviderTags":
		page, err := iamPage(params)
		if err != nil {
			return nil, err
		}
		p, err := s.iamOIDCProvider(c, arn)
		if err != nil {
			return nil, err
		}
		return tagsPage(c.op, p.Tags, page)
	}
	var ch iamstore.OIDCChange
	switch c.op {
	case "DeleteOpenIDConnectProvider":
	case "AddClientIDToOpenIDConnectProvider", "RemoveClientIDFromOpenIDConnectProvider":
		id := params.Get("ClientID")
		if !params.Has("ClientID") || id == "" {
			var v validation.Collector
			if v.Required("clientID", params.Has("ClientID")) {
				v.Length("clientID", id, 1, 255)
			}
			return nil, v.Err()
		}
		if c.op == "AddClientIDToOpenIDConnectProvider" {
			ch.AddClientID = id
		} else {
			ch.RemoveClientID = id
		}
	case "UpdateOpenIDConnectProviderThumbprint":
		ch.Thumbprints, ch.SetThumbprints = listMembers(params, "ThumbprintList"), true
		if ch.Thumbprints == nil {
			ch.Thumbprints = []string{}
		}
	case "TagOpenIDConnectProvider":
		ch.AddTags = iamTags(params)
		if ch.AddTags == nil {
			ch.AddTags = []iamstore.Tag{}
		}
	case "UntagOpenIDConnectProvider":
		ch.RemoveTagKeys = listMembers(params, "TagKeys")
	default:
		return nil, iamUnknownOp(c.op)
	}
	p, err := s.iamOIDCProvider(c, arn)
	if err != nil {
		return nil, err
	}
	if c.op == "DeleteOpenIDConnectProvider" {
		c.log.Info("oidc provider deleted", "provider", p.ARN())
		return nil, s.d.IAM.DeleteOIDCProvider(c.ctx, account, arn)
	}
	return nil, s.d.IAM.UpdateOIDCProvider(c.ctx, account, arn, ch)
}
