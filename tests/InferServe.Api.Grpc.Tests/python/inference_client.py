#!/usr/bin/python3
"""python3-grpcio client for the inferserve.v1.Inference API tests.

  inference_client.py <target> <scenario> [request_id]  -> prints one JSON line with the outcome.

Message classes come from the serialized FileDescriptorProto of proto/inferserve/v1/inference.proto, passed
base64 in INFERENCE_DESCRIPTOR (the C# tests take it from the generated code), so no protoc/grpc_tools is needed.
"""
import base64
import json
import os
import sys

import grpc
from google.protobuf import descriptor_pool, message_factory

SERVICE = "inferserve.v1.Inference"


def load_messages(*names):
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(base64.b64decode(os.environ["INFERENCE_DESCRIPTOR"]))
    get_class = getattr(message_factory, "GetMessageClass", None)
    if get_class is None:  # protobuf < 4.x
        get_class = message_factory.MessageFactory(pool).GetPrototype
    return [get_class(pool.FindMessageTypeByName("inferserve.v1." + n)) for n in names]


GenerateRequest, GenerateResponse, CompleteResponse, ModelInfoRequest, ModelInfo = load_messages(
    "GenerateRequest", "GenerateResponse", "CompleteResponse", "ModelInfoRequest", "ModelInfo")


def emit(**fields):
    sys.stdout.write(json.dumps(fields, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def error_fields(e):
    return {"code": e.code().name, "details": e.details()}


def finish_name(value):
    return GenerateResponse.DESCRIPTOR.fields_by_name["finish_reason"].enum_type.values_by_number[value].name


def main(target, scenario, request_id):
    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=5)
    generate = channel.unary_stream("/%s/Generate" % SERVICE, request_serializer=GenerateRequest.SerializeToString,
                                    response_deserializer=GenerateResponse.FromString)
    complete = channel.unary_unary("/%s/Complete" % SERVICE, request_serializer=GenerateRequest.SerializeToString,
                                   response_deserializer=CompleteResponse.FromString)
    model_info = channel.unary_unary("/%s/GetModelInfo" % SERVICE, request_serializer=ModelInfoRequest.SerializeToString,
                                     response_deserializer=ModelInfo.FromString)
    long_request = GenerateRequest(request_id=request_id, text="Once upon a time", max_tokens=1000, n=4, ignore_eos=True)
    try:
        if scenario == "greedy":
            request = GenerateRequest(request_id=request_id, text="Hello there, gRPC", max_tokens=24, temperature=0.0,
                                      ignore_eos=True)
            chunks = list(generate(request, timeout=10))
            full = complete(request, timeout=10)
            last = chunks[-1]
            emit(code="OK",
                 stream_text="".join(c.text for c in chunks),
                 stream_tokens=[t for c in chunks for t in c.token_ids],
                 stream_finish=finish_name(last.finish_reason),
                 stream_usage=[last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens],
                 usage_only_on_last=all(not c.HasField("usage") for c in chunks[:-1]),
                 request_ids=sorted(set(c.request_id for c in chunks)),
                 complete_text=full.choices[0].text,
                 complete_tokens=list(full.choices[0].token_ids),
                 complete_finish=finish_name(full.choices[0].finish_reason),
                 complete_usage=[full.usage.prompt_tokens, full.usage.completion_tokens, full.usage.total_tokens],
                 model=full.model)
        elif scenario == "model_info":
            info = model_info(ModelInfoRequest(), timeout=5)
            emit(code="OK", id=info.id, max_context=info.max_context, vocab_size=info.vocab_size,
                 eos=list(info.eos_token_ids), kv_total_blocks=info.kv_total_blocks)
        elif scenario == "deadline":
            # A warm connection first (model info does not touch the engine, which the test holds after the request's
            # first step), so the deadline runs out while the request is in the engine, not in the handshake.
            model_info(ModelInfoRequest(), timeout=30)
            try:
                complete(long_request, timeout=3)
                emit(code="OK")
            except grpc.RpcError as e:
                emit(**error_fields(e))
        elif scenario == "cancel":
            call = generate(long_request, timeout=10)
            received = [next(call), next(call)]
            call.cancel()
            try:
                for _ in call:
                    received.append(None)
                emit(code="OK", received=len(received))
            except grpc.RpcError as e:
                emit(received=len(received), **error_fields(e))
        elif scenario == "invalid":
            outcomes = {}
            cases = {
                "max_tokens_0": GenerateRequest(text="hi", max_tokens=0),
                "temperature_-1": GenerateRequest(text="hi", temperature=-1.0),
                "no_prompt": GenerateRequest(max_tokens=4),
            }
            for name, request in cases.items():
                try:
                    complete(request, timeout=5)
                    outcomes[name] = {"code": "OK"}
                except grpc.RpcError as e:
                    outcomes[name] = error_fields(e)
            try:
                list(generate(cases["max_tokens_0"], timeout=5))
                outcomes["stream_max_tokens_0"] = {"code": "OK"}
            except grpc.RpcError as e:
                outcomes["stream_max_tokens_0"] = error_fields(e)
            emit(code="OK", outcomes=outcomes)
        else:
            raise SystemExit("unknown scenario " + scenario)
    finally:
        channel.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")
