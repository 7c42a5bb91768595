// Hyperswarm's packages ship no types; the benchmark uses a few calls of each (see links.ts).
declare module '@hyperswarm/secret-stream'
declare module 'protomux'
