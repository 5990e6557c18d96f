#!/usr/bin/python3
"""python3-grpcio peer for the InferServe.Grpc interop tests.

  interop_peer.py server               -> prints "PORT <n>", serves until stdin closes;
                                          prints "CANCELLED <method>" when a handler sees its RPC end early.
  interop_peer.py client <target> <scenario> -> prints one JSON line with the outcome.

Message classes come from the serialized FileDescriptorProto of interop_test.proto, passed base64 in
INTEROP_DESCRIPTOR (the C# tests take it from the generated code), so no protoc/grpc_tools is needed.
"""
import base64
import json
import os
import sys
import time
from concurrent import futures

import grpc
from google.protobuf import descriptor_pool, message_factory

SERVICE = "inferserve.test.Interop"


def load_messages():
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(base64.b64decode(os.environ["INTEROP_DESCRIPTOR"]))
    get_class = getattr(message_factory, "GetMessageClass", None)
    if get_class is None:  # protobuf < 4.x
        factory = message_factory.MessageFactory(pool)
        get_class = factory.GetPrototype
    return (get_class(pool.FindMessageTypeByName("inferserve.test.EchoRequest")),
            get_class(pool.FindMessageTypeByName("inferserve.test.EchoReply")))


EchoRequest, EchoReply = load_messages()


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- server

def track_cancellation(context, method):
    """Reports "CANCELLED <method>" if the RPC terminates before the handler finishes.

    grpc stops driving a handler (e.g. no longer resumes a streaming generator) once the RPC is
    cancelled, so the termination callback is the only reliable place to observe it."""
    state = {"finished": False}

    def on_termination():
        if not state["finished"]:
            emit("CANCELLED " + method)

    context.add_callback(on_termination)
    return state


def wait(context, delay_ms):
    """Sleeps delay_ms; returns False as soon as the RPC is no longer active."""
    end = time.monotonic() + delay_ms / 1000.0
    while time.monotonic() < end:
        if not context.is_active():
            return False
        time.sleep(0.01)
    return context.is_active()


def fail_if_asked(request, context, state):
    if request.status_code:
        state["finished"] = True
        code = next(c for c in grpc.StatusCode if c.value[0] == request.status_code)
        context.abort(code, request.text)


def unary(request, context):
    state = track_cancellation(context, "Unary")
    fail_if_asked(request, context, state)
    if not wait(context, request.delay_ms):
        return EchoReply()
    md = dict(context.invocation_metadata())
    state["finished"] = True
    return EchoReply(text=request.text + md.get("x-suffix", ""), payload=request.payload)


def server_stream(request, context):
    state = track_cancellation(context, "ServerStream")
    for i in range(request.count):
        if not wait(context, request.delay_ms):
            return
        yield EchoReply(text=request.text, index=i)
    fail_if_asked(request, context, state)
    state["finished"] = True


def client_stream(request_iterator, context):
    texts = [r.text for r in request_iterator]
    return EchoReply(text=",".join(texts), index=len(texts))


def duplex(request_iterator, context):
    for i, r in enumerate(request_iterator):
        yield EchoReply(text=r.text, index=i, payload=r.payload)


def serve():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    ser, de = EchoReply.SerializeToString, EchoRequest.FromString
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary, request_deserializer=de, response_serializer=ser),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream, request_deserializer=de, response_serializer=ser),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream, request_deserializer=de, response_serializer=ser),
        "Duplex": grpc.stream_stream_rpc_method_handler(duplex, request_deserializer=de, response_serializer=ser),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    emit("PORT %d" % port)
    sys.stdin.read()  # the test closes stdin (or kills us) to stop
    server.stop(0)


# ---------------------------------------------------------------- client

def outcome(error=None, **fields):
    if error is not None:
        fields["code"] = error.code().name
        fields["details"] = error.details()
    else:
        fields.setdefault("code", "OK")
    emit(json.dumps(fields, ensure_ascii=False))


def run_client(target, scenario):
    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=5)
    ser, de = EchoRequest.SerializeToString, EchoReply.FromString
    unary_call = channel.unary_unary("/%s/Unary" % SERVICE, request_serializer=ser, response_deserializer=de)
    stream_call = channel.unary_stream("/%s/ServerStream" % SERVICE, request_serializer=ser, response_deserializer=de)
    duplex_call = channel.stream_stream("/%s/Duplex" % SERVICE, request_serializer=ser, response_deserializer=de)
    missing_call = channel.unary_unary("/%s/Missing" % SERVICE, request_serializer=ser, response_deserializer=de)
    try:
        if scenario == "unary":
            reply = unary_call(EchoRequest(text="héllo wörld", payload=bytes(range(256))), timeout=5,
                               metadata=(("x-suffix", "!"),))
            outcome(text=reply.text, payload_ok=reply.payload == bytes(range(256)))
        elif scenario == "server_stream":
            replies = list(stream_call(EchoRequest(text="tick", count=5), timeout=5))
            outcome(texts=[r.text for r in replies], indexes=[r.index for r in replies])
        elif scenario == "deadline":
            # A warm call first, then a deadline long enough to reach the handler on a loaded machine and far
            # shorter than the handler's delay: the deadline fires mid-call, not before the request arrives.
            unary_call(EchoRequest(text="warm"), timeout=30)
            try:
                unary_call(EchoRequest(text="slow", delay_ms=60000), timeout=3)
                outcome()
            except grpc.RpcError as e:
                outcome(e)
        elif scenario == "cancel":
            call = stream_call(EchoRequest(text="tick", count=1000, delay_ms=20), timeout=10)
            received = [next(call), next(call)]
            call.cancel()
            try:
                for _ in call:
                    received.append(None)
                outcome(received=len(received))
            except grpc.RpcError as e:
                outcome(e, received=len(received))
        elif scenario == "error":
            try:
                unary_call(EchoRequest(text="bad input: ünïcödé ✓ 100%", status_code=3), timeout=5)
                outcome()
            except grpc.RpcError as e:
                outcome(e)
        elif scenario == "unimplemented":
            try:
                missing_call(EchoRequest(text="x"), timeout=5)
                outcome()
            except grpc.RpcError as e:
                outcome(e)
        elif scenario == "duplex":
            replies = list(duplex_call(iter([EchoRequest(text=t) for t in ("a", "b", "c")]), timeout=5))
            outcome(texts=[r.text for r in replies], indexes=[r.index for r in replies])
        else:
            raise SystemExit("unknown scenario " + scenario)
    finally:
        channel.close()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve()
    else:
        run_client(sys.argv[2], sys.argv[3])
