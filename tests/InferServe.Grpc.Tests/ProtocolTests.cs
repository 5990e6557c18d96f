namespace InferServe.Grpc.Tests;

/// <summary>Header-level encodings from the gRPC over HTTP/2 spec.</summary>
public sealed class ProtocolTests
{
    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("15u", 150L)]
    [InlineData("1000n", 10L)]
    [InlineData("1n", 1L)] // rounded up: a deadline is never zero
    [InlineData("99999999S", 999_999_990_000_000L)]
    public void Grpc_timeout_parses_every_unit(string header, long expectedTicks)
    {
        Assert.True(GrpcTimeout.TryParse(header, out var timeout));
        Assert.Equal(expectedTicks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("123456789S")] // more than 8 digits
    [InlineData("-1S")]
    [InlineData("1.5S")]
    [InlineData("10s")]
    public void Grpc_timeout_rejects_malformed_values(string header) =>
        Assert.False(GrpcTimeout.TryParse(header, out _));

    [Theory]
    [InlineData(10L, "1000n")]
    [InlineData(10_000L, "1000000n")]
    [InlineData(5_000_000L, "500000u")]
    [InlineData(50_000_000_000L, "5000000m")]
    [InlineData(long.MaxValue, "99999999H")] // clamped: the longest expressible timeout
    public void Grpc_timeout_formats_with_the_finest_unit_that_fits_in_8_digits(long ticks, string expected)
    {
        var formatted = GrpcTimeout.Format(TimeSpan.FromTicks(ticks));
        Assert.Equal(expected, formatted);
        Assert.True(formatted.Length <= 9);
        Assert.True(GrpcTimeout.TryParse(formatted, out var parsed));
        Assert.True(parsed.Ticks >= ticks || ticks == long.MaxValue); // rounding never shortens
    }

    [Theory]
    [InlineData("plain ascii", "plain ascii")]
    [InlineData("100%", "100%25")]
    [InlineData("line\nbreak", "line%0Abreak")]
    [InlineData("ünï ✓", "%C3%BCn%C3%AF %E2%9C%93")]
    public void Grpc_message_is_percent_encoded_as_utf8(string message, string encoded)
    {
        Assert.Equal(encoded, GrpcMessageEncoding.Encode(message));
        Assert.Equal(message, GrpcMessageEncoding.Decode(encoded));
    }

    [Theory]
    [InlineData("bad %zz escape")]
    [InlineData("trailing %")]
    [InlineData("trailing %4")]
    public void Grpc_message_decoding_keeps_malformed_escapes(string value) =>
        Assert.Equal(value, GrpcMessageEncoding.Decode(value));

    [Theory]
    [InlineData(400, StatusCode.Internal)]
    [InlineData(401, StatusCode.Unauthenticated)]
    [InlineData(403, StatusCode.PermissionDenied)]
    [InlineData(404, StatusCode.Unimplemented)]
    [InlineData(429, StatusCode.Unavailable)]
    [InlineData(502, StatusCode.Unavailable)]
    [InlineData(503, StatusCode.Unavailable)]
    [InlineData(504, StatusCode.Unavailable)]
    [InlineData(500, StatusCode.Unknown)]
    public void Http_status_maps_to_grpc_status(int httpStatus, StatusCode expected) =>
        Assert.Equal(expected, GrpcProtocol.FromHttpStatus(httpStatus));

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc; charset=utf-8", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void Content_type_recognises_grpc_variants(string? contentType, bool expected) =>
        Assert.Equal(expected, GrpcProtocol.IsGrpcContentType(contentType));

    [Fact]
    public void All_17_status_codes_have_their_wire_values() =>
        Assert.Equal(Enumerable.Range(0, 17), Enum.GetValues<StatusCode>().Select(c => (int)c));
}
