/* gcurl-error.h: the G_CURL_ERROR domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (__GCURLMULTI_H_INSIDE__) && !defined (GCURLMULTI_COMPILATION)
#error "Only <gcurlmulti.h> can be included directly."
#endif

#include <glib.h>

#include "gcurl-version.h"

G_BEGIN_DECLS

/**
 * G_CURL_ERROR:
 *
 * The error domain of libcurl failures.
 *
 * Errors in this domain have a [enum@GCurl.Error] code, which has the same
 * numeric value as the `CURLcode` libcurl returned.
 *
 * Since: 0.1
 */
#define G_CURL_ERROR (g_curl_error_quark ())

/**
 * GCurlError:
 * @G_CURL_ERROR_UNSUPPORTED_PROTOCOL: The URL's scheme is one this libcurl
 *   cannot handle, or one that [property@GCurl.Multi:allowed-protocols] leaves
 *   out (`CURLE_UNSUPPORTED_PROTOCOL`, 1).
 * @G_CURL_ERROR_FAILED_INIT: Something libcurl needs could not be set up, or
 *   libcurl refused to add the transfer to the multi handle
 *   (`CURLE_FAILED_INIT`, 2).
 * @G_CURL_ERROR_URL_MALFORMAT: The URL could not be parsed
 *   (`CURLE_URL_MALFORMAT`, 3).
 * @G_CURL_ERROR_NOT_BUILT_IN: The feature, protocol or option asked for was
 *   left out when this libcurl was built (`CURLE_NOT_BUILT_IN`, 4).
 * @G_CURL_ERROR_COULDNT_RESOLVE_PROXY: The host name of the proxy could not be
 *   resolved (`CURLE_COULDNT_RESOLVE_PROXY`, 5).
 * @G_CURL_ERROR_COULDNT_RESOLVE_HOST: The host name of the server could not be
 *   resolved (`CURLE_COULDNT_RESOLVE_HOST`, 6).
 * @G_CURL_ERROR_COULDNT_CONNECT: No connection could be made to the server or
 *   the proxy, or the new socket could not be watched by the main loop
 *   (`CURLE_COULDNT_CONNECT`, 7).
 * @G_CURL_ERROR_WEIRD_SERVER_REPLY: The server sent something libcurl could
 *   not make sense of, such as a redirect without a usable `Location`
 *   (`CURLE_WEIRD_SERVER_REPLY`, 8).
 * @G_CURL_ERROR_REMOTE_ACCESS_DENIED: The server refused access to the
 *   resource, or for FTP to its directory (`CURLE_REMOTE_ACCESS_DENIED`, 9).
 * @G_CURL_ERROR_FTP_ACCEPT_FAILED: FTP: the server reported an error while
 *   libcurl waited for it to connect back in active mode
 *   (`CURLE_FTP_ACCEPT_FAILED`, 10).
 * @G_CURL_ERROR_FTP_WEIRD_PASS_REPLY: FTP: the server's reply to the password
 *   was not one libcurl expects (`CURLE_FTP_WEIRD_PASS_REPLY`, 11).
 * @G_CURL_ERROR_FTP_ACCEPT_TIMEOUT: FTP: the server did not connect back in
 *   time in active mode (`CURLE_FTP_ACCEPT_TIMEOUT`, 12).
 * @G_CURL_ERROR_FTP_WEIRD_PASV_REPLY: FTP: the reply to a PASV or EPSV command
 *   made no sense (`CURLE_FTP_WEIRD_PASV_REPLY`, 13).
 * @G_CURL_ERROR_FTP_WEIRD_227_FORMAT: FTP: the 227 line that answers PASV
 *   could not be parsed (`CURLE_FTP_WEIRD_227_FORMAT`, 14).
 * @G_CURL_ERROR_FTP_CANT_GET_HOST: FTP: the host for the data connection could
 *   not be looked up (`CURLE_FTP_CANT_GET_HOST`, 15).
 * @G_CURL_ERROR_HTTP2: Something went wrong in the HTTP/2 framing layer, as
 *   the message details (`CURLE_HTTP2`, 16).
 * @G_CURL_ERROR_FTP_COULDNT_SET_TYPE: FTP: the server refused to switch
 *   between binary and ASCII mode (`CURLE_FTP_COULDNT_SET_TYPE`, 17).
 * @G_CURL_ERROR_PARTIAL_FILE: The body was shorter or longer than announced,
 *   or the connection closed before the response headers were complete
 *   (`CURLE_PARTIAL_FILE`, 18).
 * @G_CURL_ERROR_FTP_COULDNT_RETR_FILE: FTP: the RETR command got an odd reply
 *   or transferred nothing (`CURLE_FTP_COULDNT_RETR_FILE`, 19).
 * @G_CURL_ERROR_QUOTE_ERROR: A custom quote command sent to the server failed
 *   (`CURLE_QUOTE_ERROR`, 21).
 * @G_CURL_ERROR_HTTP_RETURNED_ERROR: The HTTP status was 400 or more, which
 *   only [method@GCurl.Multi.download_async] (or libcurl with
 *   `CURLOPT_FAILONERROR`) treats as a failure (`CURLE_HTTP_RETURNED_ERROR`,
 *   22).
 * @G_CURL_ERROR_WRITE_ERROR: The received data could not be written out, or a
 *   write callback refused it (`CURLE_WRITE_ERROR`, 23).
 * @G_CURL_ERROR_UPLOAD_FAILED: The server refused the upload before it
 *   started, as FTP servers do by refusing STOR (`CURLE_UPLOAD_FAILED`, 25).
 * @G_CURL_ERROR_READ_ERROR: The data to send could not be read from a local
 *   file or from the read callback (`CURLE_READ_ERROR`, 26).
 * @G_CURL_ERROR_OUT_OF_MEMORY: A memory allocation failed
 *   (`CURLE_OUT_OF_MEMORY`, 27).
 * @G_CURL_ERROR_OPERATION_TIMEDOUT: A time limit passed, such as the
 *   [property@GCurl.Multi:stall-timeout] of a transfer that stopped receiving
 *   (`CURLE_OPERATION_TIMEDOUT`, 28).
 * @G_CURL_ERROR_FTP_PORT_FAILED: FTP: the PORT command failed, usually because
 *   of the local address given for it (`CURLE_FTP_PORT_FAILED`, 30).
 * @G_CURL_ERROR_FTP_COULDNT_USE_REST: FTP: the REST command failed
 *   (`CURLE_FTP_COULDNT_USE_REST`, 31).
 * @G_CURL_ERROR_RANGE_ERROR: The server does not support or accept the range
 *   requested, or does not continue a download where it stopped
 *   (`CURLE_RANGE_ERROR`, 33).
 * @G_CURL_ERROR_HTTP_POST_ERROR: libcurl got confused while setting up a POST
 *   request (`CURLE_HTTP_POST_ERROR`, 34).
 * @G_CURL_ERROR_SSL_CONNECT_ERROR: The TLS handshake failed, for a reason the
 *   message gives (`CURLE_SSL_CONNECT_ERROR`, 35).
 * @G_CURL_ERROR_BAD_DOWNLOAD_RESUME: A download could not be resumed because
 *   the offset lies beyond the end of the file (`CURLE_BAD_DOWNLOAD_RESUME`,
 *   36).
 * @G_CURL_ERROR_FILE_COULDNT_READ_FILE: A `file://` URL names a file that
 *   could not be opened (`CURLE_FILE_COULDNT_READ_FILE`, 37).
 * @G_CURL_ERROR_LDAP_CANNOT_BIND: LDAP: the bind operation failed
 *   (`CURLE_LDAP_CANNOT_BIND`, 38).
 * @G_CURL_ERROR_LDAP_SEARCH_FAILED: LDAP: the search failed
 *   (`CURLE_LDAP_SEARCH_FAILED`, 39).
 * @G_CURL_ERROR_FUNCTION_NOT_FOUND: A function libcurl needs from zlib was not
 *   found (`CURLE_FUNCTION_NOT_FOUND`, 41).
 * @G_CURL_ERROR_ABORTED_BY_CALLBACK: A callback told libcurl to stop the
 *   transfer (`CURLE_ABORTED_BY_CALLBACK`, 42).
 * @G_CURL_ERROR_BAD_FUNCTION_ARGUMENT: A libcurl function was called with a
 *   bad argument (`CURLE_BAD_FUNCTION_ARGUMENT`, 43).
 * @G_CURL_ERROR_INTERFACE_FAILED: The local network interface chosen for
 *   outgoing connections could not be used (`CURLE_INTERFACE_FAILED`, 45).
 * @G_CURL_ERROR_TOO_MANY_REDIRECTS: The transfer was redirected more times
 *   than [property@GCurl.Multi:max-redirects] allows
 *   (`CURLE_TOO_MANY_REDIRECTS`, 47).
 * @G_CURL_ERROR_UNKNOWN_OPTION: An option given to libcurl is not one it knows
 *   (`CURLE_UNKNOWN_OPTION`, 48).
 * @G_CURL_ERROR_SETOPT_OPTION_SYNTAX: The value of an option given to libcurl
 *   is badly formatted (`CURLE_SETOPT_OPTION_SYNTAX`, 49).
 * @G_CURL_ERROR_GOT_NOTHING: The server closed the connection without sending
 *   any response (`CURLE_GOT_NOTHING`, 52).
 * @G_CURL_ERROR_SSL_ENGINE_NOTFOUND: The crypto engine asked for was not found
 *   (`CURLE_SSL_ENGINE_NOTFOUND`, 53).
 * @G_CURL_ERROR_SSL_ENGINE_SETFAILED: The crypto engine could not be made the
 *   default one (`CURLE_SSL_ENGINE_SETFAILED`, 54).
 * @G_CURL_ERROR_SEND_ERROR: Sending data over the network failed
 *   (`CURLE_SEND_ERROR`, 55).
 * @G_CURL_ERROR_RECV_ERROR: Receiving data from the network failed, for
 *   example because the peer reset the connection (`CURLE_RECV_ERROR`, 56).
 * @G_CURL_ERROR_SSL_CERTPROBLEM: The local client certificate has a problem
 *   (`CURLE_SSL_CERTPROBLEM`, 58).
 * @G_CURL_ERROR_SSL_CIPHER: The cipher asked for could not be used
 *   (`CURLE_SSL_CIPHER`, 59).
 * @G_CURL_ERROR_PEER_FAILED_VERIFICATION: The server's TLS certificate, or SSH
 *   host key, did not pass verification (`CURLE_PEER_FAILED_VERIFICATION`,
 *   60).
 * @G_CURL_ERROR_BAD_CONTENT_ENCODING: The content or transfer encoding of the
 *   response is unknown or broken (`CURLE_BAD_CONTENT_ENCODING`, 61).
 * @G_CURL_ERROR_FILESIZE_EXCEEDED: The file is larger than the maximum size
 *   set with `CURLOPT_MAXFILESIZE` (`CURLE_FILESIZE_EXCEEDED`, 63).
 * @G_CURL_ERROR_USE_SSL_FAILED: The TLS level required with `CURLOPT_USE_SSL`
 *   (for FTP, IMAP, POP3 or SMTP) could not be had (`CURLE_USE_SSL_FAILED`,
 *   64).
 * @G_CURL_ERROR_SEND_FAIL_REWIND: The request body had to be sent again and
 *   could not be rewound, as with a request stream that cannot seek back
 *   (`CURLE_SEND_FAIL_REWIND`, 65).
 * @G_CURL_ERROR_SSL_ENGINE_INITFAILED: The crypto engine could not be
 *   initialised (`CURLE_SSL_ENGINE_INITFAILED`, 66).
 * @G_CURL_ERROR_LOGIN_DENIED: The server refused the login
 *   (`CURLE_LOGIN_DENIED`, 67).
 * @G_CURL_ERROR_TFTP_NOTFOUND: TFTP: the server has no such file
 *   (`CURLE_TFTP_NOTFOUND`, 68).
 * @G_CURL_ERROR_TFTP_PERM: TFTP: the server reported a permission problem
 *   (`CURLE_TFTP_PERM`, 69).
 * @G_CURL_ERROR_REMOTE_DISK_FULL: The server ran out of disk space
 *   (`CURLE_REMOTE_DISK_FULL`, 70).
 * @G_CURL_ERROR_TFTP_ILLEGAL: TFTP: the server refused the operation as
 *   illegal (`CURLE_TFTP_ILLEGAL`, 71).
 * @G_CURL_ERROR_TFTP_UNKNOWNID: TFTP: the server does not know the transfer ID
 *   (`CURLE_TFTP_UNKNOWNID`, 72).
 * @G_CURL_ERROR_REMOTE_FILE_EXISTS: The file exists on the server, which does
 *   not overwrite it (`CURLE_REMOTE_FILE_EXISTS`, 73).
 * @G_CURL_ERROR_TFTP_NOSUCHUSER: TFTP: the server answered "no such user",
 *   which a correct server never does (`CURLE_TFTP_NOSUCHUSER`, 74).
 * @G_CURL_ERROR_SSL_CACERT_BADFILE: The file of trusted certificate
 *   authorities, such as [property@GCurl.Multi:tls-ca-file], could not be read
 *   (`CURLE_SSL_CACERT_BADFILE`, 77).
 * @G_CURL_ERROR_REMOTE_FILE_NOT_FOUND: The resource does not exist, for
 *   protocols such as FTP or SFTP; over HTTP a missing resource is a 404
 *   status instead (`CURLE_REMOTE_FILE_NOT_FOUND`, 78).
 * @G_CURL_ERROR_SSH: Something went wrong in the SSH session (`CURLE_SSH`,
 *   79).
 * @G_CURL_ERROR_SSL_SHUTDOWN_FAILED: The TLS connection could not be shut down
 *   cleanly (`CURLE_SSL_SHUTDOWN_FAILED`, 80).
 * @G_CURL_ERROR_AGAIN: A socket was not ready to send or receive, which only
 *   `curl_easy_send()` and `curl_easy_recv()` report (`CURLE_AGAIN`, 81).
 * @G_CURL_ERROR_SSL_CRL_BADFILE: The file of revoked certificates could not be
 *   loaded (`CURLE_SSL_CRL_BADFILE`, 82).
 * @G_CURL_ERROR_SSL_ISSUER_ERROR: The check of the server certificate's issuer
 *   failed (`CURLE_SSL_ISSUER_ERROR`, 83).
 * @G_CURL_ERROR_FTP_PRET_FAILED: FTP: the server does not understand the PRET
 *   command or its argument (`CURLE_FTP_PRET_FAILED`, 84).
 * @G_CURL_ERROR_RTSP_CSEQ_ERROR: RTSP: the CSeq numbers do not match
 *   (`CURLE_RTSP_CSEQ_ERROR`, 85).
 * @G_CURL_ERROR_RTSP_SESSION_ERROR: RTSP: the session identifiers do not match
 *   (`CURLE_RTSP_SESSION_ERROR`, 86).
 * @G_CURL_ERROR_FTP_BAD_FILE_LIST: FTP: the file list of a wildcard download
 *   could not be parsed (`CURLE_FTP_BAD_FILE_LIST`, 87).
 * @G_CURL_ERROR_CHUNK_FAILED: The chunk callback of a wildcard download
 *   reported an error (`CURLE_CHUNK_FAILED`, 88).
 * @G_CURL_ERROR_NO_CONNECTION_AVAILABLE: No connection was available yet, a
 *   code libcurl uses internally and never returns
 *   (`CURLE_NO_CONNECTION_AVAILABLE`, 89).
 * @G_CURL_ERROR_SSL_PINNEDPUBKEYNOTMATCH: The server's public key is not the
 *   one pinned with `CURLOPT_PINNEDPUBLICKEY`
 *   (`CURLE_SSL_PINNEDPUBKEYNOTMATCH`, 90).
 * @G_CURL_ERROR_SSL_INVALIDCERTSTATUS: The certificate status check asked for
 *   with `CURLOPT_SSL_VERIFYSTATUS` failed (`CURLE_SSL_INVALIDCERTSTATUS`,
 *   91).
 * @G_CURL_ERROR_HTTP2_STREAM: One stream of an HTTP/2 connection failed
 *   (`CURLE_HTTP2_STREAM`, 92).
 * @G_CURL_ERROR_RECURSIVE_API_CALL: A libcurl function was called from inside
 *   a libcurl callback (`CURLE_RECURSIVE_API_CALL`, 93).
 * @G_CURL_ERROR_AUTH_ERROR: An authentication function reported an error
 *   (`CURLE_AUTH_ERROR`, 94).
 * @G_CURL_ERROR_HTTP3: Something went wrong in the HTTP/3 layer, as the
 *   message details (`CURLE_HTTP3`, 95).
 * @G_CURL_ERROR_QUIC_CONNECT_ERROR: The QUIC connection that carries HTTP/3
 *   could not be set up, possibly because of the TLS library
 *   (`CURLE_QUIC_CONNECT_ERROR`, 96).
 * @G_CURL_ERROR_PROXY: The handshake with the proxy failed (`CURLE_PROXY`,
 *   97).
 * @G_CURL_ERROR_SSL_CLIENTCERT: The server requires a TLS client certificate
 *   (`CURLE_SSL_CLIENTCERT`, 98).
 * @G_CURL_ERROR_UNRECOVERABLE_POLL: An internal call to poll() or select()
 *   failed beyond recovery (`CURLE_UNRECOVERABLE_POLL`, 99).
 * @G_CURL_ERROR_TOO_LARGE: A value or data field grew larger than libcurl
 *   allows; libcurl 8.6 and later (`CURLE_TOO_LARGE`, 100).
 * @G_CURL_ERROR_ECH_REQUIRED: Encrypted Client Hello was attempted and failed;
 *   libcurl 8.8 and later (`CURLE_ECH_REQUIRED`, 101).
 *
 * Error codes of the %G_CURL_ERROR domain: one value for each `CURLcode`,
 * with the same number, so `(GCurlError) code` and `(CURLcode) error->code`
 * convert both ways. `CURLE_OK` and libcurl's obsolete codes have no value.
 *
 * libgcurlmulti also uses these codes for failures it detects itself, with
 * the meaning of the libcurl code: a stalled transfer is
 * %G_CURL_ERROR_OPERATION_TIMEDOUT, a redirect loop
 * %G_CURL_ERROR_TOO_MANY_REDIRECTS, a response cut off inside its headers
 * %G_CURL_ERROR_PARTIAL_FILE, an HTTP error status in a download
 * %G_CURL_ERROR_HTTP_RETURNED_ERROR. See [Errors](errors.html) for the
 * other errors the library reports.
 *
 * Since: 0.1
 */
typedef enum {
  G_CURL_ERROR_UNSUPPORTED_PROTOCOL = 1,
  G_CURL_ERROR_FAILED_INIT = 2,
  G_CURL_ERROR_URL_MALFORMAT = 3,
  G_CURL_ERROR_NOT_BUILT_IN = 4,
  G_CURL_ERROR_COULDNT_RESOLVE_PROXY = 5,
  G_CURL_ERROR_COULDNT_RESOLVE_HOST = 6,
  G_CURL_ERROR_COULDNT_CONNECT = 7,
  G_CURL_ERROR_WEIRD_SERVER_REPLY = 8,
  G_CURL_ERROR_REMOTE_ACCESS_DENIED = 9,
  G_CURL_ERROR_FTP_ACCEPT_FAILED = 10,
  G_CURL_ERROR_FTP_WEIRD_PASS_REPLY = 11,
  G_CURL_ERROR_FTP_ACCEPT_TIMEOUT = 12,
  G_CURL_ERROR_FTP_WEIRD_PASV_REPLY = 13,
  G_CURL_ERROR_FTP_WEIRD_227_FORMAT = 14,
  G_CURL_ERROR_FTP_CANT_GET_HOST = 15,
  G_CURL_ERROR_HTTP2 = 16,
  G_CURL_ERROR_FTP_COULDNT_SET_TYPE = 17,
  G_CURL_ERROR_PARTIAL_FILE = 18,
  G_CURL_ERROR_FTP_COULDNT_RETR_FILE = 19,
  G_CURL_ERROR_QUOTE_ERROR = 21,
  G_CURL_ERROR_HTTP_RETURNED_ERROR = 22,
  G_CURL_ERROR_WRITE_ERROR = 23,
  G_CURL_ERROR_UPLOAD_FAILED = 25,
  G_CURL_ERROR_READ_ERROR = 26,
  G_CURL_ERROR_OUT_OF_MEMORY = 27,
  G_CURL_ERROR_OPERATION_TIMEDOUT = 28,
  G_CURL_ERROR_FTP_PORT_FAILED = 30,
  G_CURL_ERROR_FTP_COULDNT_USE_REST = 31,
  G_CURL_ERROR_RANGE_ERROR = 33,
  G_CURL_ERROR_HTTP_POST_ERROR = 34,
  G_CURL_ERROR_SSL_CONNECT_ERROR = 35,
  G_CURL_ERROR_BAD_DOWNLOAD_RESUME = 36,
  G_CURL_ERROR_FILE_COULDNT_READ_FILE = 37,
  G_CURL_ERROR_LDAP_CANNOT_BIND = 38,
  G_CURL_ERROR_LDAP_SEARCH_FAILED = 39,
  G_CURL_ERROR_FUNCTION_NOT_FOUND = 41,
  G_CURL_ERROR_ABORTED_BY_CALLBACK = 42,
  G_CURL_ERROR_BAD_FUNCTION_ARGUMENT = 43,
  G_CURL_ERROR_INTERFACE_FAILED = 45,
  G_CURL_ERROR_TOO_MANY_REDIRECTS = 47,
  G_CURL_ERROR_UNKNOWN_OPTION = 48,
  G_CURL_ERROR_SETOPT_OPTION_SYNTAX = 49,
  G_CURL_ERROR_GOT_NOTHING = 52,
  G_CURL_ERROR_SSL_ENGINE_NOTFOUND = 53,
  G_CURL_ERROR_SSL_ENGINE_SETFAILED = 54,
  G_CURL_ERROR_SEND_ERROR = 55,
  G_CURL_ERROR_RECV_ERROR = 56,
  G_CURL_ERROR_SSL_CERTPROBLEM = 58,
  G_CURL_ERROR_SSL_CIPHER = 59,
  G_CURL_ERROR_PEER_FAILED_VERIFICATION = 60,
  G_CURL_ERROR_BAD_CONTENT_ENCODING = 61,
  G_CURL_ERROR_FILESIZE_EXCEEDED = 63,
  G_CURL_ERROR_USE_SSL_FAILED = 64,
  G_CURL_ERROR_SEND_FAIL_REWIND = 65,
  G_CURL_ERROR_SSL_ENGINE_INITFAILED = 66,
  G_CURL_ERROR_LOGIN_DENIED = 67,
  G_CURL_ERROR_TFTP_NOTFOUND = 68,
  G_CURL_ERROR_TFTP_PERM = 69,
  G_CURL_ERROR_REMOTE_DISK_FULL = 70,
  G_CURL_ERROR_TFTP_ILLEGAL = 71,
  G_CURL_ERROR_TFTP_UNKNOWNID = 72,
  G_CURL_ERROR_REMOTE_FILE_EXISTS = 73,
  G_CURL_ERROR_TFTP_NOSUCHUSER = 74,
  G_CURL_ERROR_SSL_CACERT_BADFILE = 77,
  G_CURL_ERROR_REMOTE_FILE_NOT_FOUND = 78,
  G_CURL_ERROR_SSH = 79,
  G_CURL_ERROR_SSL_SHUTDOWN_FAILED = 80,
  G_CURL_ERROR_AGAIN = 81,
  G_CURL_ERROR_SSL_CRL_BADFILE = 82,
  G_CURL_ERROR_SSL_ISSUER_ERROR = 83,
  G_CURL_ERROR_FTP_PRET_FAILED = 84,
  G_CURL_ERROR_RTSP_CSEQ_ERROR = 85,
  G_CURL_ERROR_RTSP_SESSION_ERROR = 86,
  G_CURL_ERROR_FTP_BAD_FILE_LIST = 87,
  G_CURL_ERROR_CHUNK_FAILED = 88,
  G_CURL_ERROR_NO_CONNECTION_AVAILABLE = 89,
  G_CURL_ERROR_SSL_PINNEDPUBKEYNOTMATCH = 90,
  G_CURL_ERROR_SSL_INVALIDCERTSTATUS = 91,
  G_CURL_ERROR_HTTP2_STREAM = 92,
  G_CURL_ERROR_RECURSIVE_API_CALL = 93,
  G_CURL_ERROR_AUTH_ERROR = 94,
  G_CURL_ERROR_HTTP3 = 95,
  G_CURL_ERROR_QUIC_CONNECT_ERROR = 96,
  G_CURL_ERROR_PROXY = 97,
  G_CURL_ERROR_SSL_CLIENTCERT = 98,
  G_CURL_ERROR_UNRECOVERABLE_POLL = 99,
  G_CURL_ERROR_TOO_LARGE = 100,
  G_CURL_ERROR_ECH_REQUIRED = 101,
} GCurlError;

GCURL_AVAILABLE_IN_ALL
GQuark   g_curl_error_quark        (void);

GCURL_AVAILABLE_IN_ALL
gboolean g_curl_error_is_transient (const GError *error);

G_END_DECLS
