#!/usr/bin/python3
"""python3-grpcio client of inferserve.v1.Inference over TLS, for the TLS tests.

  tls_client.py <target> <ca.pem> <api-key> -> prints one JSON line: the outcome of Complete and GetModelInfo.

The server certificate must chain to <ca.pem> (grpc's own verification, host name included). Message classes come
from the serialized descriptor in INFERENCE_DESCRIPTOR, so no protoc is needed.
"""
import base64
import json
import os
import sys

import grpc
from google.protobuf import descriptor_pool, message_factory


def load_messages(*names):
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(base64.b64decode(os.environ["INFERENCE_DESCRIPTOR"]))
    get_class = getattr(message_factory, "GetMessageClass", None)
    if get_class is None:  # protobuf < 4.x
        get_class = message_factory.MessageFactory(pool).GetPrototype
    return [get_class(pool.FindMessageTypeByName("inferserve.v1." + n)) for n in names]


GenerateRequest, CompleteResponse, ModelInfoRequest, ModelInfo = load_messages(
    "GenerateRequest", "CompleteResponse", "ModelInfoRequest", "ModelInfo")


def main(target, ca_path, api_key):
    with open(ca_path, "rb") as f:
        credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
    channel = grpc.secure_channel(target, credentials)
    complete = channel.unary_unary("/inferserve.v1.Inference/Complete", request_serializer=GenerateRequest.SerializeToString,
                                   response_deserializer=CompleteResponse.FromString)
    model_info = channel.unary_unary("/inferserve.v1.Inference/GetModelInfo",
                                     request_serializer=ModelInfoRequest.SerializeToString, response_deserializer=ModelInfo.FromString)
    auth = [("authorization", "Bearer " + api_key)]
    outcome = {}
    try:
        model_info(ModelInfoRequest(), timeout=30)
        outcome["without_key"] = "OK"
    except grpc.RpcError as e:
        outcome["without_key"] = e.code().name
    try:
        info = model_info(ModelInfoRequest(), timeout=30, metadata=auth)
        full = complete(GenerateRequest(text="Once upon a time", max_tokens=6, temperature=0.0), timeout=60, metadata=auth)
        outcome.update(code="OK", model=info.id, text=full.choices[0].text, completion_tokens=full.usage.completion_tokens)
    except grpc.RpcError as e:
        outcome.update(code=e.code().name, details=e.details())
    sys.stdout.write(json.dumps(outcome) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
