/** Activities the benchmarks run: as cheap as possible, so the figures measure the server. */
export async function echo(n: number): Promise<number> {
  return n;
}
