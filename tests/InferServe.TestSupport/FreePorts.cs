using System.Net;
using System.Net.Sockets;

namespace InferServe.TestSupport;

/// <summary>
/// Ports for servers a test starts and binds later. They come from below the kernel's ephemeral range: a port the kernel
/// handed out by bind(0) goes back to that range when released, and any outgoing connection of another test can take it
/// before our server binds it. Each process walks the range from a random start, so parallel test assemblies rarely meet,
/// and a port that is bound now is skipped.
/// </summary>
public static class FreePorts
{
    private const int First = 20000, Count = 12000; // 20000..31999, below Linux's default ephemeral range (32768..)
    private static int _next = Random.Shared.Next(Count);

    public static int Next()
    {
        for (int tries = 0; tries < Count; tries++)
        {
            int port = First + (int)((uint)Interlocked.Increment(ref _next) % Count);
            try
            {
                using var l = new TcpListener(IPAddress.Loopback, port);
                l.Start();
                return port;
            }
            catch (SocketException) { } // in use now: the next one
        }
        throw new InvalidOperationException($"No free loopback port in {First}..{First + Count - 1}.");
    }
}
