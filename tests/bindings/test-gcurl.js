// test-gcurl.js: the GCurl API from JavaScript (GJS, as an ES module:
// gjs -m), against the test server program (tests/test-server-main.c) on
// 127.0.0.1.
//
// Run by meson (suite "bindings") with GI_TYPELIB_PATH and LD_LIBRARY_PATH
// pointing at the build's libgcurlmulti/ and GCURL_TEST_SERVER naming the
// server program; prints TAP. The async calls are made promise-returning
// with Gio._promisify (GJS 1.74) and awaited; every case is bounded by
// CASE_TIMEOUT_S.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import GObject from 'gi://GObject';
import GCurl from 'gi://GCurl?version=1.0';
import System from 'system';

const CASE_TIMEOUT_S = 30;

// Not multiples of any buffer size, so a lost or repeated chunk shows.
const SIZES = [1000, 65543, 1048583, 4194311];
const STREAM_SIZE = 4194311;    // well above the stream's ~256 KiB of buffering
const SLOW_SIZE = 65536;        // served at SLOW_RATE: about one second
const SLOW_RATE = 65536;
const READ_SIZE = 65536;

Gio._promisify(GCurl.Multi.prototype, 'send_and_read_async', 'send_and_read_finish');
Gio._promisify(GCurl.Multi.prototype, 'send_async', 'send_finish');
Gio._promisify(GCurl.Multi.prototype, 'download_async', 'download_finish');
Gio._promisify(Gio.InputStream.prototype, 'read_bytes_async', 'read_bytes_finish');

class Failure extends Error {}

function check(condition, what) {
    if (!condition)
        throw new Failure(what);
}

function checkEqual(actual, expected, what) {
    if (actual !== expected)
        throw new Failure(`${what}: got ${actual}, expected ${expected}`);
}

// Resolves when the main loop has run the callbacks pending now.
function idle() {
    return new Promise(resolve => GLib.idle_add(GLib.PRIORITY_LOW, () => {
        resolve();
        return GLib.SOURCE_REMOVE;
    }));
}

// Resolves with what promise resolves with, or rejects after CASE_TIMEOUT_S.
function withTimeout(promise, what) {
    let timeoutId = 0;
    const timeout = new Promise((resolve, reject) => {
        timeoutId = GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, CASE_TIMEOUT_S, () => {
            timeoutId = 0;
            reject(new Failure(`timed out after ${CASE_TIMEOUT_S} s waiting for ${what}`));
            return GLib.SOURCE_REMOVE;
        });
    });
    return Promise.race([promise, timeout]).finally(() => {
        if (timeoutId)
            GLib.source_remove(timeoutId);
    });
}

function sha256(bytes) {
    return GLib.compute_checksum_for_bytes(GLib.ChecksumType.SHA256, bytes);
}

// A promise that resolves when transfer emits "finished", and the signals
// it emitted: ['progress', downloaded, size] and ['finished', state].
function recordSignals(transfer) {
    const events = [];
    const finished = new Promise(resolve => {
        transfer.connect('progress', (t, downloaded, size) => {
            events.push(['progress', downloaded, size]);
        });
        transfer.connect('finished', t => {
            events.push(['finished', t.get_state()]);
            resolve();
        });
    });
    return {events, finished};
}

function checkSignalOrder(events, size, what) {
    const kinds = events.map(e => e[0]);
    checkEqual(kinds.filter(k => k === 'finished').length, 1,
        `${what}: number of 'finished' emissions`);
    checkEqual(kinds.at(-1), 'finished', `${what}: the last signal`);
    check(kinds.includes('progress'), `${what}: 'progress' was emitted before 'finished'`);
    const last = events.at(-2);
    checkEqual(`${last[1]}/${last[2]}`, `${size}/${size}`,
        `${what}: the last 'progress' (downloaded/download_size)`);
    const downloaded = events.filter(e => e[0] === 'progress').map(e => e[1]);
    check(downloaded.every((d, i) => i === 0 || d >= downloaded[i - 1]),
        `${what}: 'progress' figures never go back (${downloaded})`);
}

function isError(error, domain, code) {
    return error instanceof GLib.Error && error.matches(domain, code);
}

// Stands for a widget: one double property that something binds to.
const Gauge = GObject.registerClass({
    Properties: {
        'value': GObject.ParamSpec.double('value', 'Value', 'What is shown',
            GObject.ParamFlags.READWRITE, 0, 1, 0),
    },
}, class Gauge extends GObject.Object {
    get value() {
        return this._value ?? 0;
    }

    set value(value) {
        if (this._value === value)
            return;
        this._value = value;
        this.notify('value');
    }
});

// tests/test-server-main.c in a subprocess; it exits when its stdin closes.
class TestServer {
    constructor(sizes) {
        this.process = Gio.Subprocess.new(
            [GLib.getenv('GCURL_TEST_SERVER'), ...sizes.map(String)],
            Gio.SubprocessFlags.STDIN_PIPE | Gio.SubprocessFlags.STDOUT_PIPE);
        const stdout = new Gio.DataInputStream({base_stream: this.process.get_stdout_pipe()});
        const [line] = stdout.read_line_utf8(null);
        const info = JSON.parse(line);
        this.uri = info.uri.replace(/\/$/, '');
        this.rawUri = info.raw_uri.replace(/\/$/, '');
        this.sha256 = info.sha256;
    }

    url(path) {
        return `${this.uri}/${path.replace(/^\//, '')}`;
    }

    close() {
        this.process.get_stdin_pipe().close(null);
        this.process.wait(null);
        checkEqual(this.process.get_exit_status(), 0, 'test server exit status');
    }
}

// A URL on 127.0.0.1 whose connections are refused: the port is bound (so
// no other program can take it meanwhile) but not listening.
function refusedUrl() {
    const socket = Gio.Socket.new(Gio.SocketFamily.IPV4, Gio.SocketType.STREAM,
        Gio.SocketProtocol.TCP);
    socket.bind(Gio.InetSocketAddress.new_from_string('127.0.0.1', 0), false);
    return [socket, `http://127.0.0.1:${socket.get_local_address().get_port()}/`];
}

// The cases. Each takes the server.

async function concurrentTransfers(server) {
    const multi = GCurl.Multi.new();
    const runs = SIZES.map(size => {
        const transfer = GCurl.Transfer.new(server.url(`/bytes/${size}`));
        const recorded = recordSignals(transfer);
        multi.add_transfer(transfer);
        return {size, transfer, ...recorded};
    });

    checkEqual(multi.n_transfers, SIZES.length, 'n-transfers once all are added');
    await withTimeout(Promise.all(runs.map(r => r.finished)), 'every transfer to finish');
    await idle();   // anything emitted late shows up

    for (const {size, transfer, events} of runs) {
        const what = `/bytes/${size}`;
        checkSignalOrder(events, size, what);
        checkEqual(transfer.get_state(), GCurl.TransferState.SUCCEEDED, `${what}: state`);
        checkEqual(transfer.get_error(), null, `${what}: error`);
        checkEqual(transfer.get_status_code(), 200, `${what}: status`);
        checkEqual(transfer.downloaded_bytes, size, `${what}: downloaded-bytes`);
        checkEqual(transfer.fraction, 1, `${what}: fraction`);
        checkEqual(sha256(transfer.get_body()), server.sha256[size], `${what}: SHA-256`);
    }
    checkEqual(multi.n_transfers, 0, 'n-transfers once all have finished');
}

async function bindFraction(server) {
    const multi = GCurl.Multi.new();
    const transfer = GCurl.Transfer.new(server.url(`/slow/${SLOW_SIZE}?rate=${SLOW_RATE}`));
    const gauge = new Gauge();
    const values = [];

    transfer.bind_property('fraction', gauge, 'value', GObject.BindingFlags.SYNC_CREATE);
    gauge.connect('notify::value', g => values.push(g.value));
    const {finished} = recordSignals(transfer);
    multi.add_transfer(transfer);
    await withTimeout(finished, 'the transfer to finish');

    checkEqual(transfer.get_state(), GCurl.TransferState.SUCCEEDED, 'state');
    checkEqual(gauge.value, 1, 'the bound value at the end');
    check(values.every((v, i) => i === 0 || v >= values[i - 1]),
        `the bound value never goes back (${values})`);
    check(values.some(v => v > 0 && v < 1),
        `the bound value went through values between 0 and 1 (${values})`);
    checkEqual(sha256(transfer.get_body()), server.sha256[SLOW_SIZE], 'SHA-256');
}

async function sendAndReadCancel(server) {
    const multi = GCurl.Multi.new();

    // Settles with the body, or with the error it was rejected with.
    const outcome = promise => promise.then(body => body, error => error);

    const slow = GCurl.Transfer.new(server.url(`/slow/${1024 * 1024}?rate=${SLOW_RATE}`));
    const {events: slowEvents} = recordSignals(slow);
    const cancellable = new Gio.Cancellable();
    slow.connect('progress', (t, downloaded) => {
        if (downloaded > 0 && !cancellable.is_cancelled())
            cancellable.cancel();
    });
    const slowResult = outcome(multi.send_and_read_async(slow, cancellable));

    const size = SIZES[2];
    const fast = GCurl.Transfer.new(server.url(`/bytes/${size}`));
    const fastResult = outcome(multi.send_and_read_async(fast, new Gio.Cancellable()));

    const early = new Gio.Cancellable();
    early.cancel();
    const neverSent = GCurl.Transfer.new(server.url('/bytes/1000'));
    const earlyResult = outcome(multi.send_and_read_async(neverSent, early));

    const [slowError, body, earlyError] = await withTimeout(
        Promise.all([slowResult, fastResult, earlyResult]), 'the three results');

    check(isError(slowError, Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED),
        `the cancelled call was rejected with Gio.IOErrorEnum.CANCELLED (${slowError})`);
    checkEqual(slow.get_state(), GCurl.TransferState.CANCELLED, 'state of the cancelled transfer');
    checkEqual(slowEvents.filter(e => e[0] === 'finished').length, 1,
        "'finished' emissions of the cancelled transfer");
    check(isError(earlyError, Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED),
        `an already cancelled Gio.Cancellable gives CANCELLED (${earlyError})`);
    check(body instanceof GLib.Bytes, `the other call resolved with a GLib.Bytes (${body})`);
    checkEqual(sha256(body), server.sha256[size], 'SHA-256 of the other body');
}

async function refusedConnection() {
    const multi = GCurl.Multi.new();
    const [socket, url] = refusedUrl();
    const transfer = GCurl.Transfer.new(url);
    let error = null;

    try {
        const body = await withTimeout(multi.send_and_read_async(transfer, null), 'the result');
        throw new Failure(`send_and_read_async resolved (${body}) instead of rejecting`);
    } catch (e) {
        error = e;
    } finally {
        socket.close();
    }

    if (error instanceof Failure)
        throw error;
    check(isError(error, GCurl.Error, GCurl.Error.COULDNT_CONNECT),
        `rejected with GCurl.Error.COULDNT_CONNECT (${error})`);
    check(error.matches(GCurl.error_quark(), GCurl.Error.COULDNT_CONNECT),
        'the domain is GCurl.error_quark()');
    checkEqual(error.code, 7, 'error code (CURLE_COULDNT_CONNECT)');
    checkEqual(transfer.get_state(), GCurl.TransferState.FAILED, 'state');
    check(isError(transfer.get_error(), GCurl.Error, GCurl.Error.COULDNT_CONNECT),
        'GCurl.Transfer.get_error() is COULDNT_CONNECT too');
    check(GCurl.error_is_transient(error), 'a refused connection is worth a retry');
    check(!GCurl.error_is_transient(new GLib.Error(GCurl.error_quark(),
        GCurl.Error.URL_MALFORMAT, 'bad URL')), 'a malformed URL is not worth a retry');
}

async function sendStream(server) {
    const multi = GCurl.Multi.new();
    const transfer = GCurl.Transfer.new(server.url(`/bytes/${STREAM_SIZE}`));
    const checksum = new GLib.Checksum(GLib.ChecksumType.SHA256);
    let length = 0;

    await withTimeout((async () => {
        const stream = await multi.send_async(transfer, null);
        check(stream instanceof Gio.InputStream, `send_async resolved with a Gio.InputStream (${stream})`);
        checkEqual(transfer.get_status_code(), 200, 'status code once the stream is returned');
        for (;;) {
            // eslint-disable-next-line no-await-in-loop
            const bytes = await stream.read_bytes_async(READ_SIZE, GLib.PRIORITY_DEFAULT, null);
            if (bytes.get_size() === 0)
                break;
            checksum.update(bytes.toArray());
            length += bytes.get_size();
        }
        stream.close(null);
    })(), 'the end of the stream');

    checkEqual(length, STREAM_SIZE, 'bytes read from the stream');
    checkEqual(checksum.get_string(), server.sha256[STREAM_SIZE], 'SHA-256 of the stream');
}

async function download(server) {
    const multi = GCurl.Multi.new();
    const size = SIZES[2];
    const directory = Gio.File.new_for_path(GLib.dir_make_tmp('gcurl-gjs-XXXXXX'));
    const file = directory.get_child('pattern');
    const missingFile = directory.get_child('missing');

    try {
        const transfer = GCurl.Transfer.new(server.url(`/bytes/${size}`));
        const missing = GCurl.Transfer.new(server.url('/status/404'));
        const [ok, error] = await withTimeout(Promise.all([
            multi.download_async(transfer, file, GCurl.DownloadFlags.NONE, null),
            multi.download_async(missing, missingFile, GCurl.DownloadFlags.NONE, null)
                .then(() => null, e => e),
        ]), 'both downloads to end');

        checkEqual(ok, true, 'download_finish');
        const [contents] = file.load_bytes(null);
        checkEqual(sha256(contents), server.sha256[size], 'SHA-256 of the downloaded file');
        check(isError(error, GCurl.Error, GCurl.Error.HTTP_RETURNED_ERROR),
            `a 404 is GCurl.Error.HTTP_RETURNED_ERROR (${error})`);
        const names = [];
        const children = directory.enumerate_children('standard::name', Gio.FileQueryInfoFlags.NONE, null);
        for (const info of children)
            names.push(info.get_name());
        checkEqual(names.join(' '), 'pattern',
            'the directory holds the file and nothing else (no .part, no error page)');
    } finally {
        for (const child of directory.enumerate_children('standard::name', Gio.FileQueryInfoFlags.NONE, null))
            directory.get_child(child.get_name()).delete(null);
        directory.delete(null);
    }
}

// Two Set-Cookie stay two values, header names list once each, reason and effective URL.
async function responseHeaders(server) {
    const multi = GCurl.Multi.new();
    const url = `${server.rawUri}/cookies`;
    const transfer = GCurl.Transfer.new(url);
    const body = await withTimeout(multi.send_and_read_async(transfer, null), 'the response');

    checkEqual(new TextDecoder().decode(body.toArray()), 'ok', 'body');
    checkEqual(transfer.get_status_code(), 299, 'status');
    checkEqual(transfer.get_reason_phrase(), 'Caf\ufffd Cr\ufffdme', 'reason phrase, made UTF-8');
    checkEqual(JSON.stringify(transfer.get_response_header_values('set-cookie')),
        JSON.stringify(['a=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/',
            'b=2; Expires=Thu, 22 Oct 2037 07:28:00 GMT']), 'Set-Cookie values');
    checkEqual(transfer.get_response_header_values('X-Missing'), null, 'a header not sent');
    checkEqual(transfer.list_response_headers().join(' '),
        'Connection Set-Cookie X-Other Content-Length', 'header names');
    checkEqual(transfer.effective_url, url, 'effective-url');
}

// fail-on-http-error: a 404 rejects with GCurl.Error.HTTP_RETURNED_ERROR, the page still readable.
async function failOnHttpError(server) {
    const multi = new GCurl.Multi({fail_on_http_error: true});
    const transfer = GCurl.Transfer.new(server.url('/status/404'));
    let error = null;

    try {
        await withTimeout(multi.send_and_read_async(transfer, null), 'the result');
    } catch (e) {
        error = e;
    }
    check(isError(error, GCurl.Error, GCurl.Error.HTTP_RETURNED_ERROR),
        `rejected with GCurl.Error.HTTP_RETURNED_ERROR (${error})`);
    check(error.message.includes('404') && error.message.includes('Not Found'),
        `the message names the status and reason (${error.message})`);
    checkEqual(transfer.get_state(), GCurl.TransferState.FAILED, 'state');
    checkEqual(new TextDecoder().decode(transfer.get_body().toArray()), 'status 404',
        'the error page');
}

// accept-encoding: "" (the default) decodes a gzip body; null gets it as served.
async function contentDecoding(server) {
    const url = server.url('/gzip-zeros/100000');
    const rawMulti = GCurl.Multi.new();
    rawMulti.accept_encoding = null;
    const [decoded, raw] = await withTimeout(Promise.all([
        GCurl.Multi.new().send_and_read_async(GCurl.Transfer.new(url), null),
        rawMulti.send_and_read_async(GCurl.Transfer.new(url), null),
    ]), 'both bodies');

    const bytes = decoded.toArray();
    checkEqual(bytes.length, 100000, 'the decoded body has 100000 bytes');
    check(bytes.every(b => b === 0), 'the decoded body is all zeros');
    const served = raw.toArray();
    check(served.length < 100000 && served[0] === 0x1f && served[1] === 0x8b,
        `the body as served is gzip (${served.length} bytes)`);
}

// send_and_splice_async: the body written into a Gio.MemoryOutputStream, its byte count.
async function sendAndSplice(server) {
    const multi = GCurl.Multi.new();
    const transfer = GCurl.Transfer.new(server.url(`/bytes/${STREAM_SIZE}`));
    const output = Gio.MemoryOutputStream.new_resizable();
    const count = await withTimeout(new Promise((resolve, reject) => {
        multi.send_and_splice_async(transfer, output, Gio.OutputStreamSpliceFlags.CLOSE_TARGET,
            null, (m, result) => {
                try {
                    resolve(m.send_and_splice_finish(result));
                } catch (e) {
                    reject(e);
                }
            });
    }), 'the splice');

    checkEqual(count, STREAM_SIZE, 'bytes spliced');
    check(output.is_closed(), 'the output is closed (CLOSE_TARGET)');
    checkEqual(sha256(output.steal_as_bytes()), server.sha256[STREAM_SIZE], 'SHA-256 of the output');
}

// authenticate: a wrong password is asked again (retrying), a later answer gets the 200; declined, the 401.
async function authenticate(server) {
    const multi = GCurl.Multi.new();
    const transfer = GCurl.Transfer.new(server.url('/auth/basic'));
    const asked = [];

    // The property is_for_proxy hides the method of the same name in GJS.
    transfer.connect('authenticate', (t, auth, retrying) => {
        asked.push([auth.get_scheme_name(), auth.get_realm(), auth.authority,
            auth.is_for_proxy, retrying].join('|'));
        const password = asked.length === 1 ? 'wrong' : 's3cret';
        // Answered from the main loop later, as after a password dialog.
        GLib.idle_add(GLib.PRIORITY_DEFAULT, () => {
            auth.authenticate('user', password);
            return GLib.SOURCE_REMOVE;
        });
        return true;
    });
    const body = await withTimeout(multi.send_and_read_async(transfer, null), 'the response');
    const authority = server.uri.replace('http://', '').replace(/\/$/, '');
    checkEqual(asked.join(';'), `Basic|gcurl tests|${authority}|false|false;` +
        `Basic|gcurl tests|${authority}|false|true`, 'the challenges asked');
    checkEqual(new TextDecoder().decode(body.toArray()), 'welcome user', 'body');
    checkEqual(transfer.get_status_code(), 200, 'status');

    const declined = GCurl.Transfer.new(server.url('/auth/basic'));
    declined.connect('authenticate', () => false);
    const page = await withTimeout(multi.send_and_read_async(declined, null), 'the 401');
    checkEqual(declined.get_status_code(), 401, 'status when declined');
    checkEqual(new TextDecoder().decode(page.toArray()), 'please log in', "the 401's page");
    checkEqual(declined.get_response_header('WWW-Authenticate'), 'Basic realm="gcurl tests"',
        'the challenge');
}

// TLS_BODY_SIZE bytes (i * 7 + 3) & 0xff: what the TLS server answers.
const TLS_BODY_SIZE = 65543;
const TLS_BODY = Uint8Array.from({length: TLS_BODY_SIZE}, (_, i) => (i * 7 + 3) & 0xff);

// A GIO TLS server on 127.0.0.1 with a self-signed certificate (made with
// openssl), answering every request on a connection with TLS_BODY.
function startTlsServer() {
    const directory = GLib.dir_make_tmp('gcurl-gjs-tls-XXXXXX');
    const key = `${directory}/server.key`;
    const pem = `${directory}/server.pem`;
    const [, , , status] = GLib.spawn_sync(directory, ['openssl', 'req', '-x509', '-newkey', 'ec',
        '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-keyout', key,
        '-out', pem, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    null, GLib.SpawnFlags.SEARCH_PATH, null);
    GLib.spawn_check_wait_status(status);
    const certificate = Gio.TlsCertificate.new_from_files(pem, key);
    const service = Gio.SocketService.new();
    const [, bound] = service.add_address(Gio.InetSocketAddress.new_from_string('127.0.0.1', 0),
        Gio.SocketType.STREAM, Gio.SocketProtocol.TCP, null);
    const head = new TextEncoder().encode(`HTTP/1.1 200 OK\r\nContent-Length: ${TLS_BODY_SIZE}\r\n\r\n`);
    const response = new Uint8Array(head.length + TLS_BODY_SIZE);
    response.set(head);
    response.set(TLS_BODY, head.length);

    async function serve(tls) {
        try {
            for (;;) {
                // eslint-disable-next-line no-await-in-loop
                const request = await tls.get_input_stream().read_bytes_async(65536,
                    GLib.PRIORITY_DEFAULT, null);
                if (request.get_size() === 0)
                    break;
                tls.get_output_stream().write_all(response, null);
            }
        } catch (e) {
            // The client refused the handshake.
        }
        tls.close(null);
    }

    service.connect('incoming', (s, connection) => {
        serve(Gio.TlsServerConnection.new(connection, certificate));
        return true;
    });
    service.start();
    return {
        certificate,
        url: `https://127.0.0.1:${bound.get_port()}/`,
        close() {
            service.stop();
            service.close();
            for (const file of [key, pem])
                GLib.unlink(file);
            GLib.rmdir(directory);
        },
    };
}

function runTransfer(multi, transfer) {
    const finished = new Promise(resolve => {
        const id = transfer.connect('finished', () => {
            transfer.disconnect(id);
            resolve();
        });
    });
    multi.add_transfer(transfer);
    return withTimeout(finished, "'finished'");
}

async function acceptCertificate() {
    const tlsServer = startTlsServer();
    try {
        const multi = GCurl.Multi.new();
        const asked = [];
        const handler = answer => (transfer, peer, errors) => {
            asked.push([peer, errors]);
            return answer;
        };

        const accepted = GCurl.Transfer.new(tlsServer.url);
        accepted.connect('accept-certificate', handler(true));
        await runTransfer(multi, accepted);
        checkEqual(accepted.get_error(), null, 'error of the accepted transfer');
        checkEqual(accepted.get_status_code(), 200, 'status');
        checkEqual(sha256(accepted.get_body()),
            GLib.compute_checksum_for_data(GLib.ChecksumType.SHA256, TLS_BODY), 'SHA-256 of the body');
        checkEqual(asked.length, 1, 'emissions of accept-certificate');
        check(asked[0][0].is_same(tlsServer.certificate), 'the peer is the server certificate');
        checkEqual(asked[0][1], Gio.TlsCertificateFlags.UNKNOWN_CA, 'the errors');
        check(accepted.tls_peer_certificate.is_same(tlsServer.certificate), 'tls-peer-certificate');

        const refused = GCurl.Transfer.new(tlsServer.url);
        refused.connect('accept-certificate', handler(false));
        const unhandled = GCurl.Transfer.new(tlsServer.url);
        for (const transfer of [refused, unhandled]) {
            // eslint-disable-next-line no-await-in-loop
            await runTransfer(multi, transfer);
            const error = transfer.get_error();
            check(isError(error, GCurl.Error, GCurl.Error.PEER_FAILED_VERIFICATION),
                `PEER_FAILED_VERIFICATION (${error})`);
            checkEqual(error.message,
                'The certificate of 127.0.0.1 is not trusted: unknown certificate authority', 'the message');
            checkEqual(transfer.get_body(), null, 'no body');
            checkEqual(asked.length, 2, 'emissions of accept-certificate');
            check(transfer.get_tls_peer_certificate().is_same(tlsServer.certificate),
                'the peer of the failed transfer');
        }
    } finally {
        tlsServer.close();
    }
}

// cookie-file "": a Set-Cookie is kept and sent back, listed by get_cookies; add_cookie, clear_cookies.
async function cookies(server) {
    const multi = new GCurl.Multi({cookie_file: ''});
    const host = GLib.Uri.parse(server.uri, GLib.UriFlags.NONE).get_host();
    const get = async path => {
        const body = await withTimeout(
            multi.send_and_read_async(GCurl.Transfer.new(server.url(path)), null), path);
        return new TextDecoder().decode(body.toArray());
    };
    const sentCookie = async () => {
        const lines = (await get('/echo-headers')).split('\n')
            .filter(line => line.toLowerCase().startsWith('cookie: '));
        check(lines.length <= 1, `one Cookie header at most: ${lines}`);
        return lines.length ? lines[0].slice('cookie: '.length) : null;
    };

    checkEqual(multi.get_cookies().length, 0, 'an empty jar');
    checkEqual(await get('/set-cookie?c=js%3D1'), 'ok', 'body');
    checkEqual(JSON.stringify(multi.get_cookies()),
        JSON.stringify([`${host}\tFALSE\t/\tFALSE\t0\tjs\t1`]), "the cookie's line");
    checkEqual(await sentCookie(), 'js=1', 'the cookie sent back');

    multi.add_cookie(server.url('/dir/page'), 'added=2; Expires=Wed, 01 Jan 2031 00:00:00 GMT; HttpOnly');
    checkEqual(JSON.stringify(multi.get_cookies().sort()),
        JSON.stringify([`#HttpOnly_${host}\tFALSE\t/dir\tFALSE\t1924992000\tadded\t2`,
            `${host}\tFALSE\t/\tFALSE\t0\tjs\t1`]), 'both lines');
    checkEqual(await sentCookie(), 'js=1', 'a cookie for /dir not sent to /echo-headers');

    multi.clear_cookies();
    checkEqual(multi.get_cookies().length, 0, 'cleared');
    checkEqual(await sentCookie(), null, 'no Cookie header once cleared');
    checkEqual(GCurl.Multi.new().get_cookies().length, 0, 'a multi without cookie-file has none');
}

const CASES = {
    'concurrent_transfers': concurrentTransfers,
    'bind_fraction': bindFraction,
    'send_and_read_cancel': sendAndReadCancel,
    'refused_connection': refusedConnection,
    'send_stream': sendStream,
    'download': download,
    'response_headers': responseHeaders,
    'fail_on_http_error': failOnHttpError,
    'content_decoding': contentDecoding,
    'send_and_splice': sendAndSplice,
    'authenticate': authenticate,
    'accept_certificate': acceptCertificate,
    'cookies': cookies,
};

async function main() {
    const server = new TestServer([...new Set([...SIZES, STREAM_SIZE, SLOW_SIZE])]);
    const names = Object.keys(CASES);
    let failed = 0;

    print(`1..${names.length + 1}`);
    for (const [index, name] of names.entries()) {
        try {
            // eslint-disable-next-line no-await-in-loop
            await CASES[name](server);
            print(`ok ${index + 1} - ${name}`);
        } catch (error) {
            failed++;
            print(`not ok ${index + 1} - ${name}`);
            const message = error instanceof Failure ? error.message : `${error}\n${error.stack}`;
            for (const line of message.split('\n'))
                print(`# ${line}`);
        }
    }

    try {
        server.close();
        print(`ok ${names.length + 1} - test server exits cleanly`);
    } catch (error) {
        failed++;
        print(`not ok ${names.length + 1} - test server exits cleanly\n# ${error}`);
    }
    return failed ? 1 : 0;
}

const loop = new GLib.MainLoop(null, false);
let exitStatus = 1;
main().then(status => {
    exitStatus = status;
}, error => {
    print(`Bail out! ${error}\n${error.stack}`);
}).finally(() => loop.quit());
loop.run();
System.exit(exitStatus);
