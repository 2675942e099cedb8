package server

import (
	"encoding/xml"

	"github.com/idcgate/idcgate/internal/protocol"
	"github.com/idcgate/idcgate/internal/protocol/awsquery"
	"github.com/idcgate/idcgate/internal/redshiftidc"
	"github.com/idcgate/idcgate/internal/serverless"
	"github.com/idcgate/idcgate/internal/validation"
)

type idcApplicationXML struct {
	IdcInstanceArn             string `xml:"IdcInstanceArn"`
	RedshiftIdcApplicationName string `xml:"RedshiftIdcApplicationName"`
	RedshiftIdcApplicationArn  string `xml:"RedshiftIdcApplicationArn"`
	IdentityNamespace          string `xml:"IdentityNamespace"`
	IdcDisplayName             string `xml:"IdcDisplayName,omitempty"`
	IamRoleArn                 string `xml:"IamRoleArn,omitempty"`
	IdcOnboardStatus           string `xml:"IdcOnboardStatus"`
}

type createIdcApplicationResult struct {
	XMLName                xml.Name          `xml:"CreateRedshiftIdcApplicationResult"`
	RedshiftIdcApplication idcApplicationXML `xml:"RedshiftIdcApplication"`
}

type describeIdcApplicationsResult struct {
	XMLName                 xml.Name            `xml:"DescribeRedshiftIdcApplicationsResult"`
	RedshiftIdcApplications []idcApplicationXML `xml:"RedshiftIdcApplications>member"`
}

func wireIdcApplication(a redshiftidc.Application) idcApplicationXML {
	return idcApplicationXML{
		IdcInstanceArn: a.IdcInstanceArn, RedshiftIdcApplicationName: a.Name, RedshiftIdcApplicationArn: a.Arn,
		IdentityNamespace: a.IdentityNamespace, IdcDisplayName: a.DisplayName, IamRoleArn: a.IamRoleArn, IdcOnboardStatus: "Completed",
	}
}

func (s *Server) serveRedshift(c *call) (any, error) {
	params, err := awsquery.Parse(c.http, c.body)
	if err != nil {
		return nil, err
	}
	scope := serverless.Scope{Account: c.principal.Account, Region: s.d.Region}
	wildcard := "arn:aws:redshift:" + s.d.Region + ":" + c.principal.Account + ":redshiftidcapplication:*"
	switch c.op {
	case "CreateRedshiftIdcApplication":
		if err := s.authorize(c, serviceRedshift, wildcard); err != nil {
			return nil, err
		}
		app := redshiftidc.Application{
			Name: params.Get("RedshiftIdcApplicationName"), IdcInstanceArn: params.Get("IdcInstanceArn"),
			IdentityNamespace: params.Get("IdentityNamespace"), DisplayName: params.Get("IdcDisplayName"), IamRoleArn: params.Get("IamRoleArn"),
		}
		if app.IdentityNamespace == "" {
			app.IdentityNamespace = "AWSIDC"
		}
		if err := redshiftidc.Validate(app); err != nil {
			return nil, err
		}
		if s.d.Directory == nil || app.IdcInstanceArn != s.d.Directory.InstanceArn {
			return nil, validation.Newf("IdcInstanceArn %s is not an Identity Center instance of this deployment.", app.IdcInstanceArn)
		}
		created, err := s.d.IdcApps.Create(c.ctx, scope, app)
		if err != nil {
			return nil, err
		}
		return createIdcApplicationResult{RedshiftIdcApplication: wireIdcApplication(created)}, nil
	case "DescribeRedshiftIdcApplications":
		arn := params.Get("RedshiftIdcApplicationArn")
		resource := wildcard
		if arn != "" {
			resource = arn
		}
		if err := s.authorize(c, serviceRedshift, resource); err != nil {
			return nil, err
		}
		apps, err := s.d.IdcApps.List(c.ctx, scope)
		if err != nil {
			return nil, err
		}
		out := describeIdcApplicationsResult{RedshiftIdcApplications: []idcApplicationXML{}}
		for _, a := range apps {
			if arn == "" || a.Arn == arn {
				out.RedshiftIdcApplications = append(out.RedshiftIdcApplications, wireIdcApplication(a))
			}
		}
		if arn != "" && len(out.RedshiftIdcApplications) == 0 {
			return nil, redshiftidc.ErrNotFound
		}
		return out, nil
	case "DeleteRedshiftIdcApplication":
		arn := params.Get("RedshiftIdcApplicationArn")
		var v validation.Collector
		v.Required("redshiftIdcApplicationArn", arn != "")
		if err := v.Err(); err != nil {
			return nil, err
		}
		if err := s.authorize(c, serviceRedshift, arn); err != nil {
			return nil, err
		}
		return nil, s.d.IdcApps.Delete(c.ctx, scope, arn)
	}
	return nil, protocol.Errorf(protocol.ErrUnknownOperation, "Could not find operation "+quoteOp(c.op)+" for version 2012-12-01.")
}
