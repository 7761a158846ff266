"""A TLS-terminating reverse proxy for the HTTPS discovery test: serves HTTPS on a loopback
port with the certificate given and passes each GET to a plain-HTTP upstream on loopback, as a
load balancer in front of an issuing service does. Each connection is handled by one thread
(no TLS connection is used from two threads at once).

Usage: python3 terminate.py CERT KEY UPSTREAM_PORT. Prints the port it listens on, then serves
until killed."""

import http.client
import http.server
import ssl
import sys

UPSTREAM_PORT = 0
# Headers that describe one hop's connection, not the message.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        upstream = http.client.HTTPConnection("127.0.0.1", UPSTREAM_PORT, timeout=10)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream.request("GET", self.path, headers=headers)
            response = upstream.getresponse()
            body = response.read()
        except OSError:
            self.send_error(502)
            return
        finally:
            upstream.close()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context):
        super().__init__(("127.0.0.1", 0), Proxy)
        self.context = context

    def finish_request(self, request, client_address):
        # The handshake runs on the connection's own thread; one that fails (an untrusting
        # client) ends only that connection.
        request.settimeout(5)
        try:
            connection = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        connection.settimeout(None)
        try:
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            connection.close()

    def handle_error(self, request, client_address):
        pass


def main():
    global UPSTREAM_PORT
    cert, key, UPSTREAM_PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    server = Server(context)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
