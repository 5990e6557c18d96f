// The upstream sources rely on these being in scope.
global using System.Reflection;
