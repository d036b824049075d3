/* test-vala.vala: the Vala API (gcurlmulti-1.vapi, made from the GIR), used
 * as a Vala application would, against a Soup.Server on 127.0.0.1
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* Bound for any one test: a test that needs longer is broken. */
const uint TEST_TIMEOUT_S = 60;

/* Not a multiple of any buffer size, so a lost or repeated chunk shows. */
const uint PATTERN_SIZE = 1024 * 1024 + 7;

Soup.Server server;
string base_url;

/* Byte @i of every pattern body: not periodic in 256, so bytes that come
 * out of order or twice change the checksum. */
uint8[]
make_pattern (uint length)
{
  var data = new uint8[length];

  for (uint i = 0; i < length; i++)
    data[i] = (uint8) ((i % 251) ^ (i >> 10));

  return data;
}

/* GET /pattern?size=N: N pattern bytes, and their SHA-256 in
 * X-Content-SHA256 so that the client can check what it received.
 * POST /echo: the request body back, its Content-Type in
 * X-Request-Content-Type and its User-Agent in X-Request-User-Agent. */
void
handle_request (Soup.Server                    server,
                Soup.ServerMessage             msg,
                string                         path,
                HashTable<string, string>?     query)
{
  if (path == "/pattern")
    {
      uint size = PATTERN_SIZE;

      if (query != null && query["size"] != null)
        size = (uint) uint64.parse (query["size"]);

      var data = make_pattern (size);
      msg.get_response_headers ().append ("X-Content-SHA256",
                                          Checksum.compute_for_data (ChecksumType.SHA256, data));
      msg.set_status (Soup.Status.OK, null);
      msg.set_response ("application/octet-stream", Soup.MemoryUse.COPY, data);
    }
  else if (path == "/echo" && msg.get_method () == "POST")
    {
      var body = msg.get_request_body ().flatten ();
      var content_type = msg.get_request_headers ().get_one ("Content-Type");

      msg.get_response_headers ().append ("X-Request-Content-Type", content_type ?? "");
      msg.get_response_headers ().append ("X-Request-User-Agent",
                                          msg.get_request_headers ().get_one ("User-Agent") ?? "");
      msg.set_status (Soup.Status.OK, null);
      msg.set_response ("application/octet-stream", Soup.MemoryUse.COPY, body.get_data ());
    }
  else
    {
      msg.set_status (Soup.Status.NOT_FOUND, null);
    }
}

/* Runs @loop until the test's async function quits it; fails the test
 * rather than hang. */
void
run_loop (MainLoop loop)
{
  var timeout_id = Timeout.add_seconds (TEST_TIMEOUT_S, () => {
    error ("the test did not finish within %u s", TEST_TIMEOUT_S);
  });

  loop.run ();
  Source.remove (timeout_id);
}

/* Counts a transfer's signals, and checks that "progress" never goes back
 * and that "finished" comes last, once. */
class SignalCounter : Object
{
  public uint n_progress;
  public uint n_finished;
  public int64 last_downloaded = -1;
  public int64 last_download_size = -1;
  public GCurl.TransferState state_at_finished;

  public SignalCounter (GCurl.Transfer transfer)
  {
    transfer.progress.connect ((t, downloaded, download_size, uploaded, upload_size) => {
      assert_cmpuint (n_finished, CompareOperator.EQ, 0);
      assert_true (downloaded >= last_downloaded);
      n_progress++;
      last_downloaded = downloaded;
      last_download_size = download_size;
    });
    transfer.finished.connect ((t) => {
      n_finished++;
      state_at_finished = t.get_state ();
    });
  }
}

/* /vala/send-and-read/body: a 1 MiB body arrives whole and in order. */
async void
send_and_read_body ()
{
  var multi = new GCurl.Multi ();
  var transfer = new GCurl.Transfer (base_url + "/pattern");
  var counter = new SignalCounter (transfer);

  assert_true (transfer.get_state () == GCurl.TransferState.NEW);

  try
    {
      var body = yield multi.send_and_read_async (transfer, null);

      assert_cmpuint ((uint) body.get_size (), CompareOperator.EQ, PATTERN_SIZE);
      assert_cmpmem (body.get_data (), make_pattern (PATTERN_SIZE));
      assert_cmpstr (Checksum.compute_for_bytes (ChecksumType.SHA256, body),
                     CompareOperator.EQ,
                     transfer.get_response_header ("X-Content-SHA256"));
    }
  catch (Error e)
    {
      error ("the transfer failed: %s", e.message);
    }

  assert_cmpuint (transfer.get_status_code (), CompareOperator.EQ, 200);
  assert_cmpuint (transfer.status_code, CompareOperator.EQ, 200);
  assert_true (transfer.get_state () == GCurl.TransferState.SUCCEEDED);
  assert_true (transfer.get_error () == null);
  assert_cmpfloat (transfer.fraction, CompareOperator.EQ, 1.0);
  assert_true (transfer.get_downloaded_bytes () == PATTERN_SIZE);
  assert_true (transfer.download_size == PATTERN_SIZE);

  /* The callback ran after "finished", which came once, after the last
   * "progress", with the final figures. */
  assert_cmpuint (counter.n_finished, CompareOperator.EQ, 1);
  assert_true (counter.state_at_finished == GCurl.TransferState.SUCCEEDED);
  assert_cmpuint (counter.n_progress, CompareOperator.GE, 1);
  assert_true (counter.last_downloaded == PATTERN_SIZE);
  assert_true (counter.last_download_size == PATTERN_SIZE);
  /* The callback ran from inside "finished": the transfer leaves the
   * multi's list (and n-transfers) once that emission has returned. */
  assert_cmpuint (multi.get_n_transfers (), CompareOperator.LE, 1);
  Idle.add (send_and_read_body.callback);
  yield;
  assert_cmpuint (multi.get_n_transfers (), CompareOperator.EQ, 0);
  assert_cmpuint (multi.get_n_items (), CompareOperator.EQ, 0);
}

void
test_send_and_read_body ()
{
  var loop = new MainLoop ();

  send_and_read_body.begin ((obj, res) => {
    send_and_read_body.end (res);
    loop.quit ();
  });
  run_loop (loop);
}

/* /vala/send-and-read/post: a request body, its media type and the
 * multi's User-Agent reach the server. */
async void
send_and_read_post ()
{
  var multi = new GCurl.Multi ();
  var transfer = new GCurl.Transfer (base_url + "/echo");
  var sent = new Bytes (make_pattern (100 * 1000));

  /* Nullable properties (GCurl-1.0.metadata) */
  assert_true (multi.tls_ca_file == null);
  assert_true (multi.user_agent == null);
  multi.user_agent = "test-vala/1.0";

  transfer.set_request_body (sent, "application/x-test");
  transfer.set_request_header ("X-Test", "vala");
  assert_cmpstr (transfer.get_method (), CompareOperator.EQ, "POST");

  try
    {
      var body = yield multi.send_and_read_async (transfer, null);

      assert_true (body.compare (sent) == 0);
    }
  catch (Error e)
    {
      error ("the transfer failed: %s", e.message);
    }

  assert_cmpuint (transfer.get_status_code (), CompareOperator.EQ, 200);
  assert_cmpstr (transfer.get_response_header ("X-Request-Content-Type"),
                 CompareOperator.EQ, "application/x-test");
  assert_cmpstr (transfer.get_response_header ("X-Request-User-Agent"),
                 CompareOperator.EQ, "test-vala/1.0");
  assert_true (transfer.get_uploaded_bytes () == sent.get_size ());
}

void
test_send_and_read_post ()
{
  var loop = new MainLoop ();

  send_and_read_post.begin ((obj, res) => {
    send_and_read_post.end (res);
    loop.quit ();
  });
  run_loop (loop);
}

/* /vala/send-and-read/refused: a refused connection is
 * GCurl.Error.COULDNT_CONNECT, both from the async call and on the
 * transfer. */
async void
send_and_read_refused (uint16 port)
{
  var multi = new GCurl.Multi ();
  var transfer = new GCurl.Transfer ("http://127.0.0.1:%u/".printf (port));
  var counter = new SignalCounter (transfer);
  var caught = false;

  try
    {
      yield multi.send_and_read_async (transfer, null);
    }
  catch (GCurl.Error.COULDNT_CONNECT e)
    {
      caught = true;
      assert_error (e, GCurl.Error.quark (), GCurl.Error.COULDNT_CONNECT);
      assert_true (e.domain == Quark.from_string ("g-curl-error-quark"));
      assert_cmpint (e.code, CompareOperator.EQ, 7);   /* CURLE_COULDNT_CONNECT */
    }
  catch (Error e)
    {
      error ("expected GCurl.Error.COULDNT_CONNECT, got %s %d: %s",
             e.domain.to_string (), e.code, e.message);
    }

  assert_true (caught);
  assert_true (transfer.get_state () == GCurl.TransferState.FAILED);
  assert_error (transfer.get_error (), GCurl.Error.quark (), GCurl.Error.COULDNT_CONNECT);
  assert_true (transfer.get_body () == null);
  assert_cmpuint (transfer.get_status_code (), CompareOperator.EQ, 0);
  assert_cmpuint (counter.n_finished, CompareOperator.EQ, 1);
  assert_true (counter.state_at_finished == GCurl.TransferState.FAILED);
}

void
test_send_and_read_refused ()
{
  var loop = new MainLoop ();
  Socket socket;
  uint16 port;

  /* A port bound but not listening refuses connections, and no other
   * program can take it while the socket stays open. */
  try
    {
      socket = new Socket (SocketFamily.IPV4, SocketType.STREAM, SocketProtocol.TCP);
      socket.bind (new InetSocketAddress (new InetAddress.loopback (SocketFamily.IPV4), 0), false);
      port = ((InetSocketAddress) socket.get_local_address ()).get_port ();
    }
  catch (Error e)
    {
      error ("could not bind a socket: %s", e.message);
    }

  send_and_read_refused.begin (port, (obj, res) => {
    send_and_read_refused.end (res);
    loop.quit ();
  });
  run_loop (loop);
}

/* /vala/send-and-read/cancelled: cancelling the GCancellable cancels the
 * transfer, with IOError.CANCELLED. */
async void
send_and_read_cancelled ()
{
  var multi = new GCurl.Multi ();
  var transfer = new GCurl.Transfer (base_url + "/pattern");
  var counter = new SignalCounter (transfer);
  var cancellable = new Cancellable ();

  Idle.add (() => {
    cancellable.cancel ();
    return Source.REMOVE;
  }, Priority.HIGH);

  try
    {
      yield multi.send_and_read_async (transfer, cancellable);
      error ("the transfer was not cancelled");
    }
  catch (Error e)
    {
      assert_error (e, IOError.quark (), IOError.CANCELLED);
    }

  assert_true (transfer.get_state () == GCurl.TransferState.CANCELLED);
  assert_error (transfer.get_error (), IOError.quark (), IOError.CANCELLED);
  assert_cmpuint (counter.n_finished, CompareOperator.EQ, 1);
}

void
test_send_and_read_cancelled ()
{
  var loop = new MainLoop ();

  send_and_read_cancelled.begin ((obj, res) => {
    send_and_read_cancelled.end (res);
    loop.quit ();
  });
  run_loop (loop);
}

/* /vala/send/stream: the body read from send_async()'s stream. */
async void
send_stream ()
{
  var multi = new GCurl.Multi ();
  var transfer = new GCurl.Transfer (base_url + "/pattern");
  var received = new ByteArray ();

  try
    {
      var stream = yield multi.send_async (transfer, null);

      assert_cmpuint (transfer.get_status_code (), CompareOperator.EQ, 200);
      assert_true (stream is PollableInputStream);

      while (true)
        {
          var chunk = yield stream.read_bytes_async (64 * 1024, Priority.DEFAULT, null);

          if (chunk.get_size () == 0)
            break;
          received.append (chunk.get_data ());
        }
      yield stream.close_async (Priority.DEFAULT, null);
    }
  catch (Error e)
    {
      error ("reading the body failed: %s", e.message);
    }

  assert_cmpmem (received.data, make_pattern (PATTERN_SIZE));
}

void
test_send_stream ()
{
  var loop = new MainLoop ();

  send_stream.begin ((obj, res) => {
    send_stream.end (res);
    loop.quit ();
  });
  run_loop (loop);
}

/* /vala/download/checksum: download_async() saves the body under its name
 * once the expected checksum matched. */
async void
download_checksum (string dir)
{
  var multi = new GCurl.Multi ();
  var transfer = new GCurl.Transfer (base_url + "/pattern?size=300000");
  var expected = make_pattern (300000);
  var destination = File.new_build_filename (dir, "pattern.bin");

  transfer.set_expected_checksum (ChecksumType.SHA256,
                                  Checksum.compute_for_data (ChecksumType.SHA256, expected));

  try
    {
      var done = yield multi.download_async (transfer, destination,
                                             GCurl.DownloadFlags.NONE, null);
      uint8[] contents;

      assert_true (done);
      yield destination.load_contents_async (null, out contents, null);
      assert_cmpmem (contents, expected);
      yield destination.delete_async (Priority.DEFAULT, null);
    }
  catch (Error e)
    {
      error ("the download failed: %s", e.message);
    }
}

void
test_download_checksum ()
{
  var loop = new MainLoop ();
  string dir;

  try
    {
      dir = DirUtils.make_tmp ("test-vala-XXXXXX");
    }
  catch (Error e)
    {
      error ("no temporary directory: %s", e.message);
    }

  download_checksum.begin (dir, (obj, res) => {
    download_checksum.end (res);
    loop.quit ();
  });
  run_loop (loop);
  assert_cmpint (DirUtils.remove (dir), CompareOperator.EQ, 0);
}

int
main (string[] args)
{
  Test.init (ref args);

  server = (Soup.Server) Object.new (typeof (Soup.Server));
  server.add_handler (null, handle_request);
  try
    {
      server.listen_local (0, Soup.ServerListenOptions.IPV4_ONLY);
    }
  catch (Error e)
    {
      error ("the test server could not listen: %s", e.message);
    }
  base_url = "http://127.0.0.1:%u".printf (server.get_uris ().data.get_port ());

  Test.add_func ("/vala/send-and-read/body", test_send_and_read_body);
  Test.add_func ("/vala/send-and-read/post", test_send_and_read_post);
  Test.add_func ("/vala/send-and-read/refused", test_send_and_read_refused);
  Test.add_func ("/vala/send-and-read/cancelled", test_send_and_read_cancelled);
  Test.add_func ("/vala/send/stream", test_send_stream);
  Test.add_func ("/vala/download/checksum", test_download_checksum);

  return Test.run ();
}
