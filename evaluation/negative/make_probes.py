#!/usr/bin/env python3
"""Build evaluation/negative/lines.jsonl: lines that must produce NO token-failure event.

Part (a): REAL accepted / ordinary lines, quoted from public sources (URL in "source").
          Tokens are secrets: none of the quoted lines carries a JWT or bearer value
          (a value would have been replaced by <redacted>).
Part (b): constructed PROBES.  A user-controlled field of a real log format holds the text
          of a real validator failure message.  Built as  CONTEXT x IMITATED_TEXT,
          round-robin over 35 contexts x 17 texts, 5 probes per context; no (context, text) pair repeats.

Run:  python3 make_probes.py      (writes lines.jsonl next to this file and validates it)
"""
import json
import os
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "lines.jsonl")

# ---------------------------------------------------------------------------
# (a) real lines: (line, kind, format, software, source, note)
# ---------------------------------------------------------------------------
U_HOMELAB = "https://github.com/JoshKing56/homelab/blob/HEAD/notes/jan1_2026_healthcheck.md"
U_LNAV = "https://github.com/tstack/lnav/blob/7a2855349abaaaa86b85db3016e3b6f078f70141/test/logfile_access_log.0"
U_F2B_TRAEFIK = "https://github.com/fail2ban/fail2ban/blob/32a2fb7a37093f295ce893b497dc6b68f3765abc/fail2ban/tests/files/logs/traefik-auth"
U_O2P = "https://github.com/oauth2-proxy/oauth2-proxy/issues/"

REAL = [
    # --- Proxmox VE (journal short / syslog) ---
    ("Jan 01 14:40:17 pve pvedaemon[1562]: <root@pam> successful auth for user 'root@pam'",
     "accepted", "syslog_rfc3164", "pvedaemon", U_HOMELAB,
     "A successful PVE password login logged via PVE::Cluster::log_msg; nothing was rejected."),
    ("Jan 01 14:41:36 pve pvedaemon[1564]: <root@pam> successful auth for user 'root@pam'",
     "accepted", "syslog_rfc3164", "pvedaemon", U_HOMELAB,
     "A successful ticket/vncticket verification for root@pam; an acceptance, not a rejection."),
    ("Jan 01 14:51:29 pve pvedaemon[1562]: <root@pam> successful auth for user 'root@pam'",
     "accepted", "syslog_rfc3164", "pvedaemon", U_HOMELAB,
     "A successful PVE login (ticket renewal); no failure text at all."),
    ("Jan 01 15:06:30 pve pvedaemon[1564]: <root@pam> successful auth for user 'root@pam'",
     "accepted", "syslog_rfc3164", "pvedaemon", U_HOMELAB,
     "A successful PVE login; the word 'auth' alone must not make an event."),
    ("Jan 01 14:41:36 pve pvedaemon[4741]: starting termproxy UPID:pve:00001285:00011C08:6956CDF0:vncshell::root@pam:",
     "ordinary", "syslog_rfc3164", "pvedaemon", U_HOMELAB,
     "A task start for an authenticated user's shell session; ordinary traffic."),
    ("Jan 01 14:41:36 pve pvedaemon[1562]: <root@pam> starting task "
     "UPID:pve:00001285:00011C08:6956CDF0:vncshell::root@pam:",
     "ordinary", "syslog_rfc3164", "pvedaemon", U_HOMELAB,
     "A task start logged on behalf of an already authenticated user; ordinary traffic."),
    ("Jan 01 14:41:36 pve login[4748]: pam_unix(login:session): session opened for user root(uid=0) by (uid=0)",
     "accepted", "syslog_rfc3164", "login", U_HOMELAB,
     "A PAM session was opened, i.e. the login succeeded; no token involved."),
    ("Jan 01 14:29:29 pve pveproxy[1570]: starting server",
     "ordinary", "syslog_rfc3164", "pveproxy", U_HOMELAB,
     "Daemon start-up message; unrelated to token validation."),
    ("Jan 01 14:29:29 pve pveproxy[1570]: starting 3 worker(s)",
     "ordinary", "syslog_rfc3164", "pveproxy", U_HOMELAB,
     "Daemon worker management; unrelated to token validation."),
    ("Jan 01 15:04:34 pve pveproxy[1572]: worker exit",
     "ordinary", "syslog_rfc3164", "pveproxy", U_HOMELAB,
     "A worker process recycled; not a rejected login or API call."),
    ("Jan 01 15:04:34 pve pveproxy[1570]: worker 9527 started",
     "ordinary", "syslog_rfc3164", "pveproxy", U_HOMELAB,
     "Daemon worker management; unrelated to token validation."),
    ("Jan 01 14:30:15 pve pvestatd[1546]: auth key pair too old, rotating..",
     "ordinary", "syslog_rfc3164", "pvestatd", U_HOMELAB,
     "Routine rotation of the PVE ticket-signing key; mentions 'auth key' and age but rejects nothing."),
    ("Jan 01 14:30:15 pve pvestatd[1546]: status update time (37.208 seconds)",
     "ordinary", "syslog_rfc3164", "pvestatd", U_HOMELAB,
     "A status-loop timing message; unrelated to authentication."),
    ("Jan 01 14:29:26 pve pmxcfs[1409]: [main] notice: resolved node name 'pve' to '192.168.1.203' for default node IP "
     "address",
     "ordinary", "syslog_rfc3164", "pmxcfs", U_HOMELAB,
     "Cluster filesystem start-up notice; unrelated to authentication."),
    ("Jan 01 14:29:27 pve systemd[1]: Started pve-cluster.service - The Proxmox VE cluster filesystem.",
     "ordinary", "syslog_rfc3164", "systemd", U_HOMELAB,
     "A service start message; unrelated to authentication."),
    ("Jan 01 14:29:28 pve pve-firewall[1538]: starting server",
     "ordinary", "syslog_rfc3164", "pve-firewall", U_HOMELAB,
     "Daemon start-up message; unrelated to authentication."),
    ("Mar 19 23:12:19 prox1 pvedaemon[3595767]: <root@pam> successful openid auth for user 'MYUSER@authentik'",
     "accepted", "syslog_rfc3164", "pvedaemon", "https://github.com/goauthentik/authentik/issues/2169",
     "A successful Proxmox OpenID login: the ID token was accepted."),
    ("2026-02-25T11:07:24+01:00: successful auth for user 'root@pam'",
     "accepted", "generic_text", "proxmox-backup-proxy",
     "https://github.com/crowdsecurity/hub/blob/HEAD/parsers/s01-parse/nicoh88/proxmox-backup-auth-logs.md",
     "A successful Proxmox Backup Server login from its auth.log; nothing was rejected."),
    ("2023-11-07T00:44:03.611+0100 [DEBUG] provider.terraform-provider-proxmox_v0.37.0.exe: Sending authentication "
     "request: @module=proxmox path=/api2/json/access/ticket tf_provider_addr=registry.terraform.io/bpg/proxmox "
     "tf_req_id=114ba325-363f-94a2-3fa5-a60c077036ec tf_resource_type=proxmox_virtual_environment_file "
     "tf_rpc=ApplyResourceChange tf_mux_provider=tf5to6server.v5tov6Server "
     "@caller=github.com/bpg/terraform-provider-proxmox/proxmox/api/ticket_auth.go:65 "
     "timestamp=2023-11-07T00:44:03.610+0100",
     "ordinary", "generic_text", "terraform-provider-proxmox",
     "https://github.com/bpg/terraform-provider-proxmox/issues/691",
     "A client announcing a ticket request; no answer, let alone a rejection, is logged."),
    # --- access logs ---
    ('192.168.202.254 - - [20/Jul/2009:22:59:26 +0000] "GET /vmw/cgi/tramp HTTP/1.0" 200 134 "-" "gPXE/0.9.7"',
     "ordinary", "combined_access", "nginx", U_LNAV,
     "A 200 response to an unauthenticated download; no token anywhere."),
    ('192.168.202.254 - - [20/Jul/2009:22:59:29 +0000] "GET /vmw/vSphere/default/vmkboot.gz HTTP/1.0" 404 46210 "-" '
     '"gPXE/0.9.7"',
     "ordinary", "combined_access", "nginx", U_LNAV, "A 404 for a missing file; not an authentication refusal."),
    ('192.168.202.254 - - [20/Jul/2009:22:59:29 +0000] "GET /vmw/vSphere/default/vmkernel.gz HTTP/1.0" 200 78929 "-" '
     '"gPXE/0.9.7"',
     "ordinary", "combined_access", "nginx", U_LNAV, "A 200 response; ordinary traffic."),
    ('10.0.0.2 - - [17/Oct/2023:07:19:44 +0000] "GET '
     '/view/Nemmadi/job/nims-frontend/wfapi/runs?since=%2346&fullStages=true&_=1697526791156 HTTP/1.1" 200 3347 '
     '"https://cicd.axxsoln.in/view/Nemmadi/job/nims-frontend/" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) '
     'AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36"',
     "ordinary", "combined_access", "nginx",
     "https://github.com/xavier-hernandez/goaccess-for-nginxproxymanager/issues/170",
     "A 200 response behind a reverse proxy; ordinary traffic."),
    ('10.0.0.2 - - [17/Oct/2023:07:19:50 +0000] "GET '
     '/view/Nemmadi/job/nims-frontend/wfapi/runs?since=%2346&fullStages=true&_=1697526791157 HTTP/1.1" 200 3347 '
     '"https://cicd.axxsoln.in/view/Nemmadi/job/nims-frontend/" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) '
     'AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36"',
     "ordinary", "combined_access", "nginx",
     "https://github.com/xavier-hernandez/goaccess-for-nginxproxymanager/issues/170",
     "A 200 response; ordinary polling traffic."),
    ('10.0.0.2 - - [27/Nov/2018:23:33:36 +0000] "GET /dashboard/ HTTP/2.0" 200 716 "-" "Mozilla/5.0 (X11; Linux '
     'x86_64; rv:57.0) Gecko/20100101 Firefox/57.0" 118 "Host-traefik-0" "http://172.16.0.3:8080" 4ms',
     "ordinary", "traefik_clf", "traefik", U_F2B_TRAEFIK,
     "A 200 from the Traefik dashboard (fail2ban marks it match:false)."),
    ('10.0.0.2 - username [27/Nov/2018:23:33:31 +0000] "GET /dashboard/ HTTP/2.0" 200 716 "-" "Mozilla/5.0 (X11; Linux '
     'x86_64; rv:57.0) Gecko/20100101 Firefox/57.0" 118 "Host-traefik-0" "http://172.16.0.3:8080" 4ms',
     "accepted", "traefik_clf", "traefik", U_F2B_TRAEFIK,
     "An authenticated user (basic auth) got 200; credentials were accepted."),
    ('172.18.0.1 - - [17/Apr/2020:14:53:12 +0000] "GET / HTTP/1.1" 200 569 "-" "-" 1 "whoami@docker" '
     '"http://172.18.0.3:80" 0ms',
     "ordinary", "traefik_clf", "traefik", U_F2B_TRAEFIK, "A 200 response routed to a backend; ordinary traffic."),
    ('172.18.0.1 - username [17/Apr/2020:14:53:15 +0000] "GET / HTTP/1.1" 200 569 "-" "-" 1 "whoami@docker" '
     '"http://172.18.0.3:80" 0ms',
     "accepted", "traefik_clf", "traefik", U_F2B_TRAEFIK,
     "An authenticated request answered 200; nothing was refused."),
    ('{"ClientAddr":"XXX.XXX.XXX.XXX:63261","ClientHost":"XXX.XXX.XXX.XXX","ClientPort":"63261","ClientUsername":"-",'
     '"DownstreamContentSize":287,"DownstreamStatus":207,"Duration":8184335,"OriginContentSize":287,'
     '"OriginDuration":7349966,"OriginStatus":207,"Overhead":834369,"RequestAddr":"sub.example.com",'
     '"RequestContentSize":366,"RequestCount":17348,"RequestHost":"sub.example.com","RequestMethod":"REPORT",'
     '"RequestPath":"/dav.php/calendars/","RequestPort":"-","RequestProtocol":"HTTP/2.0","RequestScheme":"https",'
     '"RetryAttempts":0,"RouterName":"https-bk@docker","ServiceAddr":"172.29.0.2:8111","ServiceName":"bk-bk@docker",'
     '"ServiceURL":"http://172.29.0.2:8111","StartLocal":"2024-12-29T12:42:47.503803974+01:00",'
     '"StartUTC":"2024-12-29T11:42:47.503803974Z","TLSCipher":"TLS_AES_128_GCM_SHA256","TLSVersion":"1.3",'
     '"entryPointName":"https","level":"info","msg":"","request_User-Agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) '
     'AppleWebKit/537.36 (KHTML, like Gecko) Cal/3.6.3 Chrome/120.0.6099.291 Electron/28.3.3 Safari/537.36 '
     'CalendarAgent","time":"2024-12-29T12:42:47+01:00"}',
     "ordinary", "traefik_json", "traefik",
     "https://github.com/xavier-hernandez/goaccess-for-nginxproxymanager/issues/108",
     "A WebDAV REPORT answered 207 by the origin (the issue's display line-wrap inside the user agent was removed)."),
    ('[2024-09-24T07:14:58.163Z] "GET /v1/secret/data/hello/config HTTP/1.1" 200 - via_upstream - "-" 0 368 14 14 "-" '
     '"Vault Agent Templating/1.17.2 (+https://www.vaultproject.io/; go1.22.5)" "6970b0aa-15c5-97ca-b8ad-c9263b4c49aa" '
     '"vault.vault.svc:8200" "10.244.1.4:8200" outbound|8200||vault.vault.svc.cluster.local 10.244.1.24:44860 '
     '10.96.160.114:8200 10.244.1.24:40992 - default',
     "ordinary", "istio_access", "envoy (istio-proxy)", "https://github.com/envoyproxy/envoy/issues/34227",
     "A 200 via_upstream in the Istio format; no jwt_authn denial detail."),
    ('2025/05/16 14:07:04.868 [proxy] 127.0.0.1 - user1 "POST / HTTP/1.1" 200 17 149ms "-" "curl/8.7.1"',
     "accepted", "generic_text", "webhookx", "https://github.com/webhookx-io/webhookx/pull/161",
     "An authenticated request by user1 answered 200."),
    ('2025/05/16 14:09:20.723 [proxy] 127.0.0.1 - user2 "POST / HTTP/1.1" 200 17 9ms "-" "curl/8.7.1"',
     "accepted", "generic_text", "webhookx", "https://github.com/webhookx-io/webhookx/pull/161",
     "An authenticated request by user2 answered 200."),
    ('2025/05/16 14:09:24.895 [admin] 127.0.0.1 - adminuser "GET /workspaces/default/endpoints HTTP/1.1" 200 331 12ms '
     '"-" "PostmanRuntime/7.43.4"',
     "accepted", "generic_text", "webhookx", "https://github.com/webhookx-io/webhookx/pull/161",
     "An authenticated admin API call answered 200."),
    ("I, [2019-10-17T17:29:53.975 #00000]     INFO -- : 200 GET /js/ember-1.4.0.js (217.141.50.226) 6646.33ms",
     "ordinary", "generic_text", "pcsd", "https://github.com/ClusterLabs/pcs/issues/213",
     "A 200 for a static asset; ordinary traffic."),
    ("I, [2019-10-17T17:29:54.386 #00000]     INFO -- : 200 GET /remote/get_configs?cluster_name=envision "
     "(192.168.1.10) 4217.72ms",
     "ordinary", "generic_text", "pcsd", "https://github.com/ClusterLabs/pcs/issues/213",
     "A 200 for a node-to-node API call; ordinary traffic."),
    ("I, [2019-10-17T17:30:05.577 #01747]     INFO -- : Connecting to: "
     "https://envision2:2224/remote/get_configs?cluster_name=envision",
     "ordinary", "generic_text", "pcsd", "https://github.com/ClusterLabs/pcs/issues/213",
     "An outgoing connection notice; no authentication outcome."),
    # --- oauth2-proxy ---
    ('10.130.8.1 - f52bd296-2acd-457b-9971-0861be4aad1a - - [2025/06/30 06:36:32] example.com GET - "/" HTTP/1.1 '
     '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:140.0) Gecko/20100101 Firefox/140.0" 302 435 0.002',
     "ordinary", "oauth2_proxy_request", "oauth2-proxy", U_O2P + "3084",
     "A 302 redirect into the login flow; no token was presented or refused."),
    ("10.130.8.1 - 29eb19d4-5d4d-4979-87f8-d604990f2b58 - xxx@example.com [2025/06/30 06:36:57] [AuthSuccess] "
     "Authenticated via OAuth2: Session{email:xxx@example.com user:xxx PreferredUsername:xxx token:true id_token:true "
     "created:2025-06-30 06:36:57.026986918 +0000 UTC m=+239102.259011571 expires:2025-06-30 18:36:57.024316103 +0000 "
     "UTC m=+282302.256340754 groups:[group1 group2]}",
     "accepted", "oauth2_proxy_auth", "oauth2-proxy", U_O2P + "3084",
     "AuthSuccess: the ID token was verified and a session created; "
     "'expires:' is the session end, not an expiry error."),
    ('10.130.8.1 - 29eb19d4-5d4d-4979-87f8-d604990f2b58 - - [2025/06/30 06:36:56] example.com GET - '
     '"/oauth2/callback?code=xxx&state=xxx%3A%2F" HTTP/1.1 "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:140.0) '
     'Gecko/20100101 Firefox/140.0" 302 24 0.450',
     "accepted", "oauth2_proxy_request", "oauth2-proxy", U_O2P + "3084",
     "The OAuth callback answered 302 after a successful code exchange."),
    ('10.76.89.34 - 3312dd9f-4192-49df-ba70-5b29a0c70ea5 - - [2024/12/22 20:29:22] oauth2-proxy.mydomain.com GET - '
     '"/oauth2/sign_in?rd=http://mywebsite.local/" HTTP/1.0 "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 '
     'Firefox/133.0" 302 457 0.000',
     "ordinary", "oauth2_proxy_request", "oauth2-proxy", U_O2P + "2889",
     "A 302 from the sign-in page; ordinary login-flow traffic."),
    ('10.244.159.18:39482 - c9c53b1081701ecde1791664c23461b3 - - [2021/11/01 21:51:44] '
     'oauth2.k8s.sc.corp.pony.ai:30443 GET - "/oauth2/start?rd=/headers" HTTP/1.1 "Mozilla/5.0 (X11; Linux x86_64) '
     'AppleWebKit/537.36 (KHTML, like Gecko) Chrome/90.0.4430.93 Safari/537.36" 302 374 0.000',
     "ordinary", "oauth2_proxy_request", "oauth2-proxy", U_O2P + "1434",
     "A 302 that starts the OAuth flow; nothing was rejected."),
    ("127.0.0.6:51671 - b849e58b-fd76-4ba5-a0d7-e977a32bd848 - lvcleef@mydomain.com [2025/02/21 02:31:30] "
     "[AuthSuccess] Authenticated via OAuth2: Session{email:lvcleef@mydomain.com "
     "user:e3614025-4600-40f0-871c-b63db8afd107 PreferredUsername:lvcleef token:true id_token:true created:2025-02-21 "
     "02:31:30.883345773 +0000 UTC m=+534.736136180 expires:2025-02-21 02:36:30.883031519 +0000 UTC m=+834.735821925 "
     "refresh_token:true groups:[/jaeger-users default-roles-tpa jaeger-realm-role offline_access uma_authorization "
     "role:default-roles-tpa role:jaeger-realm-role role:offline_access role:uma_authorization "
     "role:jaeger:manage-account role:jaeger:jaeger-user-client-role role:jaeger:manage-account-links "
     "role:jaeger:view-profile role:account:manage-account role:account:manage-account-links "
     "role:account:view-profile]}",
     "accepted", "oauth2_proxy_auth", "oauth2-proxy", U_O2P + "2965",
     "AuthSuccess with a Keycloak session; a successful login."),
    ("172.21.0.1:47318 - d377b854-c6ee-43ca-b741-29fc5849e9c4 - stefan.bodewig@innoq.com [2026/01/27 10:26:24] "
     "[AuthSuccess] Authenticated via OAuth2: Session{email:stefan.bodewig@innoq.com user:auth0|... PreferredUsername: "
     "token:true id_token:true created:2026-01-27 10:26:24.446461941 +0000 UTC m=+133.096438596 expires:2026-01-28 "
     "10:26:24.337810566 +0000 UTC m=+86532.987787201}",
     "accepted", "oauth2_proxy_auth", "oauth2-proxy", U_O2P + "3326",
     "AuthSuccess with an Auth0 session; a successful login."),
    ("[2026/01/27 10:31:45] [stored_session.go:189] Refreshing session - User: auth0|...; SessionAge: 5m20.553538059s",
     "ordinary", "oauth2_proxy_standard", "oauth2-proxy", U_O2P + "3326",
     "A routine session refresh notice; no token was refused."),
    ("172.17.0.1 - blah@blah [2021/09/15 06:21:43] [AuthSuccess] Authenticated via OAuth2: Session{email:blah@blah "
     "user:00u6os9oxnNZ4GJa52p7 PreferredUsername:blah@blah.org token:true id_token:true created:2021-09-15 "
     "06:21:43.856359961 +0000 UTC m=+11.122179418 expires:2021-09-15 06:26:43.522326926 +0000 UTC m=+310.788146397}",
     "accepted", "oauth2_proxy_auth", "oauth2-proxy", U_O2P + "1366",
     "AuthSuccess with an Okta session; a successful login."),
    ("[oauthproxy.go:168] Cookie settings: name:_oauth2_proxy secure(https):false httponly:true expiry:10m0s domains: "
     "path:/ samesite: refresh:after 5m0s",
     "ordinary", "oauth2_proxy_standard", "oauth2-proxy", U_O2P + "1950",
     "A start-up configuration line that mentions expiry and refresh but reports no failure."),
    # --- IdPs and token services ---
    ('<15>1 2024-10-30T17:27:03.414+05:30 keycloak keycloak 81812 org.keycloak.events -  '
     '{"timestamp":"2024-10-30T17:27:03.414798073+05:30","sequence":9510,"loggerClassName":"org.jboss.logging.Logger",'
     '"loggerName":"org.keycloak.events","level":"DEBUG","message":"type=\\"CODE_TO_TOKEN\\", '
     'realmId=\\"f16e7899-3616-4c57-a8db-deab1da434c1\\", realmName=\\"master\\", '
     'clientId=\\"security-admin-console\\", userId=\\"15745079-6780-4b93-80d9-c0d3480885d3\\", '
     'sessionId=\\"25e60089-0911-4332-a7c3-71b17b038be5\\", ipAddress=\\"10.10.10.10\\", '
     'token_id=\\"71eea26a-b9c3-47bf-921b-c90c6cfe1c99\\", grant_type=\\"authorization_code\\", '
     'refresh_token_type=\\"Refresh\\", scope=\\"openid email profile\\", '
     'refresh_token_id=\\"d1159936-cb35-4296-8ac2-524aa9af265b\\", code_id=\\"25e60089-0911-4332-a7c3-71b17b038be5\\", '
     'client_auth_method=\\"client-secret\\"","threadName":"executor-thread-7","threadId":69,"mdc":{},"ndc":"",'
     '"hostName":"keycloak","processName":"/opt/jdk-17/bin/java","processId":81812}',
     "accepted", "syslog_rfc5424", "keycloak", "https://github.com/DataDog/integrations-core/pull/19019",
     "A CODE_TO_TOKEN event without error: tokens were issued (YAML string escaping of the test sample undone)."),
    ('{ "timestamp": "2025-09-25T09:16:27.360000000Z", "loggerName": '
     '"uds.keycloak.plugin.eventListeners.JSONLogEventListenerProvider", "eventType": "USER", "id": '
     '"00435000-25cf-4fda-a8ef-a53d9ebab77f", "time": 1758791787360, "type": "REFRESH_TOKEN", "realmId": '
     '"1e78c15a-ac93-4014-aa2f-83bbe7ec0121", "realmName": "uds", "clientId": "test-client", "userId": '
     '"cdf56084-83c7-46fa-ae4a-1a2da352071e", "sessionId": "c3be023a-8e3d-4d84-a745-413ff3565f06", "ipAddress": '
     '"127.0.0.1", "error": null, "details": { "token_id": "onltrt:bbe5a8e9-6086-445b-2833-3245d4041557", '
     '"grant_type": "refresh_token", "refresh_token_type": "Refresh", "access_token_expiration_time": "60", '
     '"updated_refresh_token_id": "49344dc5-66bc-c1d3-0d9f-3b282c70ff54", "scope": "openid email profile", '
     '"age_of_refresh_token": "1689", "refresh_token_id": "d3319e43-be42-fc6a-5da4-f43966277c6e", '
     '"client_auth_method": "client-secret" }}',
     "accepted", "keycloak_json", "keycloak (uds-core event listener)",
     "https://uds.defenseunicorns.com/reference/configuration/single-sign-on/notifications-and-alerts",
     'A REFRESH_TOKEN event with "error": null; a refresh that succeeded.'),
    ('time="2019-04-28T05:25:51Z" level=info msg="login successful: connector \\"gitlab\\", username=\\"dave\\", '
     'email=\\"dave@redacted.com\\", groups=[]"',
     "accepted", "logfmt", "dex", "https://github.com/dexidp/dex/issues/1437",
     "Dex reports a successful login through its GitLab connector."),
    ('2025-05-07T22:17:04.965Z [DEBUG] core: completed_request: start_time=2025-05-07T22:17:04Z duration=232ms '
     'client_id="" client_address=10.50.193.90 status_code=200 request_path=/v1/auth/local-development/oidc/auth_url '
     'request_method=PUT',
     "ordinary", "generic_text", "vault", "https://github.com/hashicorp/vault/issues/30549",
     "Vault answered 200 for the OIDC auth_url step; no rejection."),
    ('{"type":"request","auth":{"policies":null,"metadata":null},"request":{"operation":"write",'
     '"path":"auth/app-id/login","data":{"app_id":"sha1:0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33",'
     '"user_id":"sha1:62cdb7020ff920e5aa642c3d4066950dd1f01f4d"}}}',
     "ordinary", "vault_audit_json", "vault", "https://github.com/hashicorp/vault/issues/176",
     "An audit record of an incoming login request; it carries no error."),
    ('{"type":"response","error":"","auth":{"policies":["root"],"metadata":null},"request":{"operation":"write",'
     '"path":"auth/app-id/login","data":{"app_id":"sha1:0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33",'
     '"user_id":"sha1:62cdb7020ff920e5aa642c3d4066950dd1f01f4d"}},'
     '"response":{"auth":{"string":"sha1:6f924313d1e54c18071c3101d5a5c314140eacf1","policies":["root"],'
     '"metadata":null},"secret":{"lease_id":""},"data":null,"redirect":""}}',
     "accepted", "vault_audit_json", "vault", "https://github.com/hashicorp/vault/issues/176",
     'The login response with "error":"" and a (hashed) token: the login succeeded.'),
    ('{"type":"request","auth":{"policies":["root"],"metadata":null},"request":{"operation":"read","path":"secret/foo",'
     '"data":null}}',
     "accepted", "vault_audit_json", "vault", "https://github.com/hashicorp/vault/issues/176",
     "A read made with an accepted token; no error field."),
    # --- applications / gateways ---
    ("info: Microsoft.AspNetCore.Authorization.DefaultAuthorizationService[1]\n      Authorization was successful for "
     "user: 1.",
     "accepted", "generic_text", "ASP.NET Core",
     "https://github.com/IdentityServer/IdentityServer4.AccessTokenValidation/issues/18",
     "ASP.NET Core's two-line console entry saying authorization succeeded."),
    ("t=2019-10-15T15:58:19+0200 lvl=info msg=\u201cRequest Completed\u201d logger=context userId=0 orgId=0 uname= "
     "method=GET path=/d/jOI1Ku7Wk/principal-fv status=302 remote_addr=190.720.751.765 time_ms=0 size=34 referer=",
     "ordinary", "logfmt", "grafana", "https://github.com/grafana/grafana/issues/21310",
     "A 302 redirect of an anonymous dashboard request (typographic quotes as quoted in the issue)."),
    ('logger=settings t=2026-02-27T06:53:58.147242854Z level=info msg="Starting Grafana" version=10.2.3 '
     'commit=1e84fede543acc892d2a2515187e545eb047f237 branch=HEAD compiled=2023-12-18T15:46:07Z',
     "ordinary", "logfmt", "grafana", "https://github.com/PragatiKoyande/devops/blob/HEAD/README.md",
     "A start-up line; unrelated to authentication."),
    ('logger=settings t=2026-02-27T06:53:58.147511711Z level=info msg="Config loaded from" '
     'file=/etc/grafana/grafana.ini',
     "ordinary", "logfmt", "grafana", "https://github.com/PragatiKoyande/devops/blob/HEAD/README.md",
     "A configuration-loading line; unrelated to authentication."),
    ("[2021-12-10 23:13:44.422][21][debug][http] [source/common/http/conn_manager_impl.cc:274] [C1] new stream",
     "ordinary", "generic_text", "envoy", "https://github.com/envoyproxy/envoy/issues/19245",
     "Envoy debug output for a new stream; no verdict."),
    ("[2021-12-10 23:13:44.422][21][debug][jwt] [source/extensions/filters/http/jwt_authn/filter.cc:158] Called Filter "
     ": setDecoderFilterCallbacks",
     "ordinary", "generic_text", "envoy", "https://github.com/envoyproxy/envoy/issues/19245",
     "jwt_authn filter set-up trace; it reports no failure."),
    ("[2021-12-10 23:13:44.423][21][debug][jwt] [source/extensions/filters/http/jwt_authn/filter.cc:53] Called Filter "
     ": decodeHeaders",
     "ordinary", "generic_text", "envoy", "https://github.com/envoyproxy/envoy/issues/19245",
     "jwt_authn filter trace; it reports no failure."),
    ("[2021-12-10 23:13:44.423][21][debug][jwt] [source/extensions/filters/http/jwt_authn/matcher.cc:70] Prefix "
     "requirement '/profile' matched.",
     "ordinary", "generic_text", "envoy", "https://github.com/envoyproxy/envoy/issues/19245",
     "A route matched a JWT requirement; matching is not rejecting."),
    ("[2021-12-10 23:13:44.423][21][debug][jwt] [source/extensions/filters/http/jwt_authn/extractor.cc:249] extract "
     "authorizationBearer",
     "ordinary", "generic_text", "envoy", "https://github.com/envoyproxy/envoy/issues/19245",
     "The filter located the bearer header; no verdict and no token value."),
    ("Access token valid until 2020-06-19 09:42:28 (now is 2020-06-19 09:42:06.001990)",
     "ordinary", "generic_text", "flopp/activities", "https://github.com/flopp/activities/issues/4",
     "A debug note that the token is still valid; mentions expiry time without any rejection."),
    # --- Kubernetes / OpenShift ---
    ("I1113 15:49:23.437331       1 server.go:681] external host was not specified, using 192.168.1.2",
     "ordinary", "klog", "kube-apiserver", "https://github.com/dexidp/dex/issues/1336",
     "kube-apiserver start-up; unrelated to token validation."),
    ("I1113 15:49:23.460543       1 server.go:152] Version: v1.12.2",
     "ordinary", "klog", "kube-apiserver", "https://github.com/dexidp/dex/issues/1336",
     "kube-apiserver version banner."),
    ("I1225 23:03:17.964704       1 cacher.go:410] cacher (*oauth.OAuthClient): initialized",
     "ordinary", "klog", "openshift-apiserver", "https://github.com/okd-project/okd/issues/1840",
     "A cache for OAuth clients initialised; no authentication outcome."),
    ('I1225 23:03:18.007145       1 store.go:1452] "Monitoring resource count at path" '
     'resource="oauthaccesstokens.oauth.openshift.io" path="<storage-prefix>//oauth/accesstokens"',
     "ordinary", "klog", "openshift-apiserver", "https://github.com/okd-project/okd/issues/1840",
     "Storage monitoring of the access-token resource; mentions tokens but rejects nothing."),
    ("I1225 23:03:18.285705       1 cacher.go:410] cacher (*oauth.OAuthAccessToken): initialized",
     "ordinary", "klog", "openshift-apiserver", "https://github.com/okd-project/okd/issues/1840",
     "A cache for access tokens initialised; no failure."),
    ("I1201 10:53:43.629934       1 handlers.go:51] authenticated request: x.x.x.x:54338",
     "accepted", "klog", "kube-oidc-proxy", "https://github.com/jetstack/kube-oidc-proxy/issues/176",
     "kube-oidc-proxy accepted the OIDC token of this request."),
    ("I1201 10:53:43.625834       1 round_trippers.go:443] GET "
     "https://10.100.0.1:443/apis/acid.zalan.do/v1?timeout=32s 200 OK in 1 milliseconds",
     "ordinary", "klog", "kube-oidc-proxy", "https://github.com/jetstack/kube-oidc-proxy/issues/176",
     "An upstream API call answered 200 OK."),
]

# ---------------------------------------------------------------------------
# (b) probes
# ---------------------------------------------------------------------------
# Imitated texts: real validator failure messages (what the attacker types).
TEXTS = [
    ("Invalid audiences: `evil123` is not a trusted audience", "openidconnect-rs untrusted-audience message"),
    ("Failed to verify ID token: Invalid audiences: `evil123` is not a trusted audience", "proxmox-openid audience "
                                                                                          "message"),
    ("openid authentication failure; rhost=10.6.6.6 msg=Failed to verify ID token: Invalid audiences: `evil123` is not "
     "a trusted audience", "the whole pvedaemon OpenID failure message"),
    ("Signature has expired", "PyJWT expiry message"),
    ("jwt audience invalid. expected: evil123", "node jsonwebtoken audience message"),
    ('oidc: expected audience "evil123" got ["x"]', "go-oidc audience message"),
    ("IDX10214: Audience validation failed. Audiences: 'evil123'.", "Microsoft.IdentityModel IDX10214"),
    ("Token is expired", "golang-jwt expiry message"),
    ("jwt expired", "node jsonwebtoken TokenExpiredError"),
    ("Invalid issuer", "issuer-mismatch message"),
    ("token is unverifiable: error while executing keyfunc: unexpected signing method: none", "golang-jwt alg=none "
                                                                                              "message"),
    ("ExpiredSignatureError: Signature has expired", "PyJWT ExpiredSignatureError"),
    ("Failed to verify ID token: Invalid issuer: expected `https://auth.example.com/` (found `https://evil.example`)",
     "proxmox-openid issuer message"),
    ("audience from claim aud with value [evil123] does not match with any of allowed audiences map[orders-ui:{}]",
     "oauth2-proxy audience message"),
    ("jwt_authn_access_denied{Audiences_in_Jwt_are_not_allowed}", "Envoy jwt_authn response-code detail"),
    ('oidc_proto_validate_aud_and_azp: our configured client_id (evil123) could not be found in the array of values '
     'for "aud" claim', "mod_auth_openidc audience message"),
    ("Failed to verify ID token: Expired: ID token expired at 2025-12-04 09:00:00 UTC (current time is 2025-12-04 "
     "10:00:00 UTC)", "proxmox-openid expiry message"),
]

MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


class Clock:
    """Deterministic, increasing timestamps (2025-12-04 10:00:00 +01:00 onward)."""
    def __init__(self):
        self.s = 0

    def tick(self):
        self.s += 7
        h, rem = divmod(self.s, 3600)
        m, s = divmod(rem, 60)
        return 10 + h, m, s


CLK = Clock()
N_UUID = uuid.UUID("00000000-0000-4000-8000-000000000000")


def rid(k):
    return str(uuid.uuid5(N_UUID, f"probe-{k}"))


def enc(t):
    """Percent-encode as a client would put it in a URL path or query."""
    return urllib.parse.quote(t, safe="")


def nginx_esc(t):
    """ngx_http_log_module escapes '"', '\\' and non-printables as \\xHH."""
    return "".join(f"\\x{ord(c):02X}" if c in '"\\' or ord(c) < 0x20 else c for c in t)


def apache_esc(t):
    return t.replace("\\", "\\\\").replace('"', '\\"')


def haproxy_esc(t):
    """HAProxy encodes '"', '#', '{', '|', '}' in captured headers as #XX."""
    return "".join(f"#{ord(c):02X}" if c in '"#{|}' else c for c in t)


def j(o):
    return json.dumps(o, ensure_ascii=False, separators=(",", ":"))


# Each context returns (line, format, software, user-controlled field, why-not-a-token-failure).
def c_sshd_invalid(t, k):
    h, m, s = CLK.tick()
    return (f"Dec  4 {h:02d}:{m:02d}:{s:02d} pve1 sshd[{4200 + k}]: Invalid user {t} from 203.0.113.9 port {52000 + k}",
            "syslog_rfc3164", "sshd", "the SSH user name (sshd echoes it verbatim)",
            "it is sshd refusing an unknown account, not a token validator")


def c_sshd_failed_pw(t, k):
    h, m, s = CLK.tick()
    return (f"Dec  4 {h:02d}:{m:02d}:{s:02d} pve1 sshd[{4200 + k}]: Failed password for invalid user {t} from "
            f"203.0.113.9 port {52000 + k} ssh2",
            "syslog_rfc3164", "sshd", "the SSH user name",
            "it is a password failure of sshd, with no token involved")


def c_sshd_closed(t, k):
    h, m, s = CLK.tick()
    return (f"Dec  4 {h:02d}:{m:02d}:{s:02d} pve1 sshd[{4200 + k}]: Connection closed by invalid user {t} 203.0.113.9 "
            f"port {52000 + k} [preauth]",
            "syslog_rfc3164", "sshd", "the SSH user name",
            "it only records a closed pre-auth SSH connection")


def c_sudo_pam(t, k):
    h, m, s = CLK.tick()
    return (f"Dec  4 {h:02d}:{m:02d}:{s:02d} pve1 sudo: pam_unix(sudo:auth): authentication failure; logname={t} "
            f"uid=1000 euid=0 tty=/dev/pts/0 ruser={t} rhost=  user=mallory",
            "syslog_rfc3164", "sudo", "logname= and ruser= (the invoking user's login name)",
            "it is a local sudo password failure")


def c_su(t, k):
    h, m, s = CLK.tick()
    return (f"Dec  4 {h:02d}:{m:02d}:{s:02d} pve1 su[{5100 + k}]: FAILED SU (to root) {t} on pts/0",
            "syslog_rfc3164", "su", "the calling user's login name",
            "it is a local su failure")


def c_logger_syslog(t, k):
    h, m, s = CLK.tick()
    pid = f"[{31300 + k}]" if k % 2 else ""
    return (f"Dec  4 {h:02d}:{m:02d}:{s:02d} pve1 pvedaemon{pid}: {t}",
            "syslog_rfc3164", "logger (tag forged as pvedaemon)",
            "the whole message and the tag (`logger -t pvedaemon" + (" -i" if pid else "") + "` run by uid 1000)",
            "a local user wrote it with logger; RFC 3164 tags are forgeable and this text is indistinguishable from a "
            "real one")


def c_logger_journal(t, k):
    h, m, s = CLK.tick()
    usec = 1764838800 * 10**6 + ((h - 10) * 3600 + m * 60 + s) * 10**6 + 123456  # 2025-12-04T09:00Z + offset
    err = k % 2 == 0
    rec = {
        "__CURSOR": f"s=6b1f;i={0x11000 + k:x}", "__REALTIME_TIMESTAMP": str(usec), "__MONOTONIC_TIMESTAMP": "90210055",
        "_HOSTNAME": "pve2", "PRIORITY": "3" if err else "5", "SYSLOG_FACILITY": "3" if err else "1",
        "_TRANSPORT": "syslog", "SYSLOG_IDENTIFIER": "pvedaemon", "SYSLOG_PID": str(31300 + k), "_PID": str(31300 + k),
        "_UID": "1000", "_GID": "1000", "_COMM": "logger", "_EXE": "/usr/bin/logger",
        "_CMDLINE": "logger -t pvedaemon" + (" -p daemon.err" if err else "") + " -i " + t,
        "_SYSTEMD_UNIT": "session-7.scope", "_AUDIT_LOGINUID": "1000", "MESSAGE": t,
    }
    return (j(rec), "journal_json", "logger (SYSLOG_IDENTIFIER forged as pvedaemon)",
            "MESSAGE and SYSLOG_IDENTIFIER (written by `logger`, _COMM=logger, _UID=1000)",
            "the journal's trusted fields show a user's logger process, not the pvedaemon worker")


def c_pvedaemon_user(t, k):
    h, m, s = CLK.tick()
    return (f"Dec  4 {h:02d}:{m:02d}:{s:02d} pve1 pvedaemon[{1234 + k}]: authentication failure; rhost=::ffff:10.0.0.5 "
            f"user={t}@pve msg=no such user ('{t}@pve')",
            "syslog_rfc3164", "pvedaemon", "user= and the name inside msg= (the user name typed at the login form)",
            "the real cause is a password login for a non-existent PVE user, not a token check")


def c_nginx_path_enc(t, k):
    h, m, s = CLK.tick()
    st = 404 if k % 2 else 200
    return (f'203.0.113.9 - - [04/Dec/2025:{h:02d}:{m:02d}:{s:02d} +0100] "GET /{enc(t)} HTTP/1.1" {st} '
            f'{153 if st == 404 else 612} "-" "curl/8.5.0"',
            "combined_access", "nginx", "the request path (percent-encoded)",
            f"it is an ordinary {st} for a URL the client chose")


def c_nginx_path_raw(t, k):
    h, m, s = CLK.tick()
    return (f'203.0.113.9 - - [04/Dec/2025:{h:02d}:{m:02d}:{s:02d} +0100] "GET /{nginx_esc(t)} HTTP/1.1" 400 157 "-" '
            f'"-"',
            "combined_access", "nginx", "the raw request line (unescaped spaces, sent with netcat)",
            "nginx answered 400 to a malformed request line; no token was examined")


def c_nginx_query(t, k):
    h, m, s = CLK.tick()
    return (f'203.0.113.9 - - [04/Dec/2025:{h:02d}:{m:02d}:{s:02d} +0100] "GET /api/search?q={enc(t)} HTTP/2.0" 200 '
            '2048 "https://shop.example.com/" '
            '"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"',
            "combined_access", "nginx", "the query string q=",
            "it is a successful (200) search request")


def c_nginx_referer(t, k):
    h, m, s = CLK.tick()
    st = 200 if k % 2 else 404
    return (f'203.0.113.9 - - [04/Dec/2025:{h:02d}:{m:02d}:{s:02d} +0100] "GET /index.html HTTP/1.1" {st} 612 '
            f'"{nginx_esc(t)}" "curl/8.5.0"',
            "combined_access", "nginx", "the Referer header",
            f"it is an ordinary {st}; the referer is whatever the client sent")


def c_nginx_ua(t, k):
    h, m, s = CLK.tick()
    st = 200 if k % 2 == 0 else 404
    return (f'203.0.113.9 - - [04/Dec/2025:{h:02d}:{m:02d}:{s:02d} +0100] "GET /api/orders?page=1 HTTP/1.1" {st} 5120 '
            f'"-" "{nginx_esc(t)}"',
            "combined_access", "nginx", "the User-Agent header",
            f"it is an ordinary {st}; the user agent is whatever the client sent")


def c_apache_ua(t, k):
    h, m, s = CLK.tick()
    return (f'198.51.100.23 - - [04/Dec/2025:{h:02d}:{m:02d}:{s:02d} +0100] "GET /wp-login.php HTTP/1.1" 404 196 "-" '
            f'"{apache_esc(t)}"',
            "combined_access", "apache httpd", "the User-Agent header",
            "it is a 404 for a missing page")


def c_traefik_json(t, k):
    h, m, s = CLK.tick()
    st = 200 if k % 2 == 0 else 404
    rec = {"ClientAddr": f"203.0.113.9:{51000 + k}", "ClientHost": "203.0.113.9", "ClientPort": str(51000 + k),
           "ClientUsername": "-",
           "DownstreamContentSize": 612, "DownstreamStatus": st, "Duration": 3454189, "OriginContentSize": 612,
           "OriginDuration": 3427197, "OriginStatus": st, "Overhead": 26992, "RequestAddr": "orders.example.com",
           "RequestContentSize": 0, "RequestCount": 300 + k, "RequestHost": "orders.example.com",
           "RequestMethod": "GET",
           "RequestPath": "/" + enc(t), "RequestPort": "-", "RequestProtocol": "HTTP/2.0", "RequestScheme": "https",
           "RetryAttempts": 0, "RouterName": "orders@docker", "ServiceAddr": "172.18.0.5:8080",
           "ServiceName": "orders@docker",
           "ServiceURL": "http://172.18.0.5:8080", "StartUTC": f"2025-12-04T{h - 1:02d}:{m:02d}:{s:02d}.123456789Z",
           "entryPointName": "websecure", "level": "info", "msg": "", "request_User-Agent": t,
           "time": f"2025-12-04T{h:02d}:{m:02d}:{s:02d}+01:00"}
    return (j(rec), "traefik_json", "traefik", "RequestPath and request_User-Agent",
            f"the origin answered {st} itself (OriginStatus {st}); no middleware refused a token")


def c_app_search(t, k):
    h, m, s = CLK.tick()
    return (f"2025-12-04 {h:02d}:{m:02d}:{s:02d} INFO app: search query: {t}",
            "generic_text", "shop app", "the search query",
            "the application echoes what a user searched for")


def c_app_unknown_user(t, k):
    h, m, s = CLK.tick()
    return (f"2025-12-04 {h:02d}:{m:02d}:{s:02d} WARN app: unknown username '{t}'",
            "generic_text", "shop app", "the user name typed at a form",
            "it is a lookup of an unknown account name, not a token check")


def c_app_display_name(t, k):
    h, m, s = CLK.tick()
    return (f'2025-12-04 {h:02d}:{m:02d}:{s:02d} INFO user alice changed display name to "{t}"',
            "generic_text", "shop app", "the new display name",
            "it records a successful profile change")


def c_app_echo(t, k):
    h, m, s = CLK.tick()
    return (f"2025-12-04 {h:02d}:{m:02d}:{s:02d} DEBUG echo: {t}",
            "generic_text", "echo service", "the echoed request body",
            "a debug echo of user input")


def c_app_request_raw(t, k):
    h, m, s = CLK.tick()
    return (f"2025-12-04 {h:02d}:{m:02d}:{s:02d} INFO http: GET /api/search?q={t} 200 14ms",
            "generic_text", "shop app", "the query string, logged decoded",
            "it is a successful (200) request")


def c_app_newline(t, k):
    h, m, s = CLK.tick()
    return (f"2025-12-04 {h:02d}:{m:02d}:{s:02d} INFO comment posted: hello\n{t}",
            "generic_text", "blog app", "the comment body, whose injected newline starts a second physical line",
            "log injection: the second physical line is the rest of a user's comment, not a validator message")


def c_header_echo(t, k):
    h, m, s = CLK.tick()
    return (f"2025-12-04 {h:02d}:{m:02d}:{s:02d} DEBUG proxy: request headers: Host: app.example.com | "
            f"X-Forwarded-User: {t} | Accept: */*",
            "generic_text", "app behind a proxy", "the X-Forwarded-User request header",
            "a debug dump of request headers the client could set")


def c_rfc5424_app(t, k):
    h, m, s = CLK.tick()
    return (f"<14>1 2025-12-04T{h:02d}:{m:02d}:{s:02d}.{k:03d}+01:00 web01 shop {4700 + k} - - search query: {t}",
            "syslog_rfc5424", "shop app", "the search query",
            "the application echoes what a user searched for")


def c_nginx_error(t, k):
    h, m, s = CLK.tick()
    return (f'2025/12/04 {h:02d}:{m:02d}:{s:02d} [error] 2865#2865: *{66800 + k} open() "/usr/share/nginx/html/{t}" '
            f'failed (2: No such file or directory), client: 203.0.113.9, server: app.example.com, request: "GET '
            f'/{enc(t)} HTTP/1.1", host: "app.example.com"',
            "nginx_error", "nginx", "the requested file name (the URL path, decoded in open())",
            "it is a missing-file error for a path the client chose")


def c_apache_error(t, k):
    h, m, s = CLK.tick()
    return (f"[Thu Dec 04 {h:02d}:{m:02d}:{s:02d}.{123456 + k} 2025] [core:info] [pid 1204:tid 1311] [client "
            f"203.0.113.9:{52000 + k}] AH00128: File does not exist: /var/www/html/{t}",
            "apache_error", "apache httpd", "the requested file name",
            "it is a missing-file notice for a path the client chose")


def c_pveproxy(t, k):
    h, m, s = CLK.tick()
    if k % 2:
        return (f'::ffff:203.0.113.9 - - [04/12/2025:{h:02d}:{m:02d}:{s:02d} +0100] "GET /api2/json/{enc(t)} HTTP/1.1" '
                f'501 -',
                "pveproxy_access", "pveproxy", "the API path",
                "pveproxy answered 501 (no such method) for a path the client chose")
    return (f'::ffff:192.168.178.63 - alice@pve [04/12/2025:{h:02d}:{m:02d}:{s:02d} +0100] "GET '
            f'/api2/json/cluster/resources?type=vm&note={enc(t)} HTTP/1.1" 200 1873',
            "pveproxy_access", "pveproxy", "an extra query parameter",
            "an authenticated API call answered 200")


def c_envoy(t, k):
    h, m, s = CLK.tick()
    return (f'[2025-12-04T{h - 1:02d}:{m:02d}:{s:02d}.310Z] "GET /{enc(t)} HTTP/1.1" 200 - 0 512 3 2 "203.0.113.9" '
            f'"{t}" "{rid(k)}" "app.example.com" "10.0.2.1:8080"',
            "envoy_access", "envoy", "the path and the User-Agent (Envoy does not escape quotes)",
            "the upstream answered 200 and the default format has no denial detail")


def c_istio(t, k):
    h, m, s = CLK.tick()
    return (f'[2025-12-04T{h - 1:02d}:{m:02d}:{s:02d}.723Z] "GET /api/catalog?q={enc(t)} HTTP/1.1" 200 - via_upstream '
            f'- "-" 0 357 15 14 "172.18.0.1" "{t}" "{rid(k)}" "webapp.istioinaction.io:30000" "10.10.0.16:8080" '
            f'outbound|80||webapp.istioinaction.svc.cluster.local 10.10.0.6:38450 10.10.0.6:8080 172.18.0.1:41850 - -',
            "istio_access", "envoy (istio-proxy)", "the query string and the User-Agent",
            "%RESPONSE_CODE_DETAILS% is via_upstream with status 200; the imitation sits in client fields")


def c_kong(t, k):
    h, m, s = CLK.tick()
    rec = {"latencies": {"request": 12, "kong": 1, "proxy": 11},
           "service": {"host": "orders-api.internal", "name": "orders-api", "port": 8080, "protocol": "http"},
           "request": {"querystring": {"q": t}, "size": 138, "uri": "/orders?q=" + enc(t),
                       "url": "https://api.example.com:8443/orders?q=" + enc(t),
                       "headers": {"host": "api.example.com", "user-agent": t, "accept": "*/*"}, "method": "GET"},
           "client_ip": "203.0.113.9", "upstream_uri": "/orders?q=" + enc(t),
           "response": {"headers": {"content-type": "application/json; charset=utf-8",
                                    "x-kong-request-id": rid(k).replace("-", ""), "via": "1.1 kong/3.8.0"},
                        "status": 200, "size": 512},
           "route": {"name": "orders-api"}, "started_at": 1764838800000 + k * 7000}
    return (j(rec), "kong_json", "kong", "request.uri, request.querystring.q and the user-agent header",
            "Kong answered 200; the jwt plugin refused nothing")


def c_caddy(t, k):
    h, m, s = CLK.tick()
    st = 404 if k % 2 else 200
    rec = {"level": "info", "ts": 1764838800.601 + k * 7, "logger": "http.log.access.log0", "msg": "handled request",
           "request": {"remote_ip": "203.0.113.9", "remote_port": str(38000 + k), "client_ip": "203.0.113.9",
                       "proto": "HTTP/2.0", "method": "GET", "host": "app.example.com", "uri": "/" + enc(t),
                       "headers": {"Accept": ["*/*"], "User-Agent": [t]}},
           "bytes_read": 0, "user_id": "", "duration": 0.0012, "size": 0 if st == 404 else 3768, "status": st,
           "resp_headers": {"Server": ["Caddy"]}}
    return (j(rec), "caddy_json", "caddy", "request.uri and the User-Agent header",
            f"it is an ordinary {st} for a client-chosen URL")


def c_haproxy(t, k):
    h, m, s = CLK.tick()
    return (f'Dec  4 {h:02d}:{m:02d}:{s:02d} lb1 haproxy[760]: 203.0.113.9:{52000 + k} '
            f'[04/Dec/2025:{h:02d}:{m:02d}:{s:02d}.608] main app/app1 0/0/1/2/3 200 512 - - ---- 1/1/0/0/0 0/0 '
            f'{{{haproxy_esc(t)}}} "GET /search?q={enc(t)} HTTP/1.1"',
            "haproxy_http", "haproxy", "the captured User-Agent and the query string",
            "the backend answered 200 (backend app/app1, not <NOSRV>)")


def c_keycloak_profile(t, k):
    h, m, s = CLK.tick()
    v = t.replace("\\", "\\\\").replace('"', '\\"')
    return (f'2025-12-04 {h:02d}:{m:02d}:{s:02d},{100 + k:03d} DEBUG [org.keycloak.events] (executor-thread-{k % 40}) '
            f'type="UPDATE_PROFILE", realmId="15b3a838-647e-4f17-9a00-7116f39e0b62", realmName="main", '
            f'clientId="account-console", userId="9c1d2e3f-4a5b-4c6d-8e7f-{k:012d}", ipAddress="203.0.113.9", '
            f'auth_method="openid-connect", context="ACCOUNT", previous_first_name="Mallory", updated_first_name="{v}"',
            "keycloak_log", "keycloak", "updated_first_name (the user's own profile field)",
            "a successful profile update event with no error= key")


def c_oauth2_proxy_auth(t, k):
    h, m, s = CLK.tick()
    return (f"203.0.113.9:{53000 + k} - {rid(k)} - mallory@example.com [2025/12/04 {h - 1:02d}:{m:02d}:{s:02d}] "
            f"[AuthSuccess] Authenticated via OAuth2: "
            f"Session{{email:mallory@example.com user:5d0c3f1e-8a2b-4c6d-9e0f-{k:012d} PreferredUsername:{t} "
            f"token:true id_token:true created:2025-12-04 {h - 1:02d}:{m:02d}:{s:02d}.118406211 +0000 UTC "
            f"expires:2025-12-04 {h - 1:02d}:{(m + 5) % 60:02d}:{s:02d}.118406211 +0000 UTC "
            "refresh_token:true groups:[orders-users]}",
            "oauth2_proxy_auth", "oauth2-proxy", "PreferredUsername (the user's own IdP profile value)",
            "it is an AuthSuccess line: the ID token was accepted")


def c_oauth2_proxy_req(t, k):
    h, m, s = CLK.tick()
    ua = t.replace('"', '\\"')
    return (f'203.0.113.9:{53000 + k} - {rid(k)} - mallory@example.com [2025/12/04 {h - 1:02d}:{m:02d}:{s:02d}] '
            f'orders.example.com GET - "/api/orders?q={enc(t)}" HTTP/2.0 "{ua}" 200 512 0.004',
            "oauth2_proxy_request", "oauth2-proxy", "the request URI and the User-Agent",
            "an authenticated request proxied with status 200")


def c_journal_sshd(t, k):
    h, m, s = CLK.tick()
    usec = 1764838800 * 10**6 + ((h - 10) * 3600 + m * 60 + s) * 10**6 + 654321
    rec = {"__CURSOR": f"s=6b1f;i={0x12000 + k:x}", "__REALTIME_TIMESTAMP": str(usec),
           "__MONOTONIC_TIMESTAMP": "90210055",
           "_HOSTNAME": "pve2", "PRIORITY": "6", "SYSLOG_FACILITY": "4", "_TRANSPORT": "syslog",
           "SYSLOG_IDENTIFIER": "sshd", "SYSLOG_PID": str(4200 + k), "_PID": str(4200 + k), "_UID": "0", "_GID": "0",
           "_COMM": "sshd", "_EXE": "/usr/sbin/sshd", "_CMDLINE": "sshd: unknown [priv]",
           "_SYSTEMD_UNIT": "ssh.service",
           "MESSAGE": f"Invalid user {t} from 203.0.113.9 port {52000 + k}"}
    return (j(rec), "journal_json", "sshd", "the SSH user name inside MESSAGE",
            "it is sshd refusing an unknown account")


CONTEXTS = [c_sshd_invalid, c_sshd_failed_pw, c_sshd_closed, c_sudo_pam, c_su, c_logger_syslog, c_logger_journal,
            c_pvedaemon_user, c_nginx_path_enc, c_nginx_path_raw, c_nginx_query, c_nginx_referer, c_nginx_ua,
            c_apache_ua, c_traefik_json, c_app_search, c_app_unknown_user, c_app_display_name, c_app_echo,
            c_app_request_raw, c_app_newline, c_header_echo, c_rfc5424_app, c_nginx_error, c_apache_error,
            c_pveproxy, c_envoy, c_istio, c_kong, c_caddy, c_haproxy, c_keycloak_profile]
# three contexts are appended; the context count (35) need not be coprime with the 17 texts,
# so the text index below is derived from (k + k // len(CONTEXTS)) instead of k alone.
CONTEXTS += [c_oauth2_proxy_auth, c_oauth2_proxy_req, c_journal_sshd]

PVE_USERNAME_MAX = 60   # PVE 'username' parameter: maxLength 64, minus "@pve"
PROBES_PER_CONTEXT = 5


def build_probes():
    out = []
    n = len(CONTEXTS) * PROBES_PER_CONTEXT
    for k in range(n):
        ctx = CONTEXTS[k % len(CONTEXTS)]
        ti = (k + k // len(CONTEXTS)) % len(TEXTS)
        if ctx is c_pvedaemon_user:   # a longer name is refused by parameter checks before any syslog line
            while len(TEXTS[ti][0]) > PVE_USERNAME_MAX:
                ti = (ti + 1) % len(TEXTS)
        text, imitates = TEXTS[ti]
        line, fmt, sw, field, why = ctx(text, k)
        out.append({"line": line, "expected": None, "kind": "probe", "format": fmt, "software": sw,
                    "source": f"constructed: {imitates} placed in {sw} {fmt} ({ctx.__name__[2:]})",
                    "note": f"The user controls {field}; {why}, so nothing here is a token failure."})
    return out


def main():
    rows = []
    for line, kind, fmt, sw, src, note in REAL:
        rows.append({"line": line, "expected": None, "kind": kind, "format": fmt, "software": sw,
                     "source": src, "note": note})
    rows += build_probes()
    with open(OUT, "w", encoding="utf-8") as f:
        for i, r in enumerate(rows, 1):
            obj = {"id": f"neg-{i:04d}", "line": r["line"], "expected": None, "kind": r["kind"],
                   "format": r["format"], "software": r["software"], "source": r["source"], "note": r["note"]}
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
    validate()


def validate():
    from collections import Counter
    keys = ["id", "line", "expected", "kind", "format", "software", "source", "note"]
    ids, kinds, fmts, srcs = set(), Counter(), Counter(), set()
    pairs = set()
    with open(OUT, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            o = json.loads(raw)
            assert list(o) == keys, (n, list(o))
            assert o["id"] not in ids, o["id"]
            ids.add(o["id"])
            assert o["expected"] is None, o["id"]
            assert o["kind"] in ("accepted", "ordinary", "probe"), o["id"]
            assert o["line"] and o["note"] and o["source"] and o["format"] and o["software"], o["id"]
            assert "eyJ" not in o["line"], ("possible JWT", o["id"])
            if o["kind"] == "probe":
                assert o["source"].startswith("constructed: "), o["id"]
            else:
                assert o["source"].startswith("https://"), o["id"]
                srcs.add(o["source"].split("#")[0])
            assert (o["line"]) not in pairs, ("duplicate line", o["id"])
            pairs.add(o["line"])
            kinds[o["kind"]] += 1
            fmts[(o["kind"], o["format"])] += 1
    print(f"{len(ids)} lines, ids unique, expected null everywhere, {len(srcs)} distinct real sources")
    for kd, c in sorted(kinds.items()):
        print(f"  {kd}: {c}")
    for (kd, fm), c in sorted(fmts.items()):
        print(f"    {kd:9s} {fm:22s} {c}")


if __name__ == "__main__":
    main()
