/**
 * HPACK decoding (RFC 7541) for one direction of a connection, as an
 * observer: the same dynamic table the peer's decoder keeps, so every header
 * block of that direction must pass through here in order.
 *
 * When the table's state is unknown (the connection was joined mid-stream, or
 * header bytes were lost), the decoder is "desynchronised" and only returns
 * what it can know for certain:
 *  - static table references and literals with literal or static names;
 *  - dynamic references to entries inserted since the desync. They are
 *    exact: the dynamic table is a FIFO with the newest entry at index 62, so
 *    if the encoder references index 62 + k, the table holds at least k + 1
 *    entries, and those are the k + 1 most recent insertions, all seen.
 * Anything else (an older entry) is counted as unknown, never guessed. The
 * decoder is synchronised again when the seen entries provably are the whole
 * table: after a size update told its maximum, once a seen entry had to be
 * evicted (older ones go first) or no older entry (32 bytes at least) could
 * still fit beside them.
 */
import { STATIC_TABLE, STATIC_TABLE_SIZE } from './hpack-static-table.js';
import { readInteger, readString } from './hpack-primitives.js';

export type HeaderField = [name: string, value: string];

export interface HeaderBlockResult {
  /** Fields whose name and value are known, in order (names as sent: lowercase in HTTP/2). */
  fields: HeaderField[];
  /** Representations whose name or value could not be known (desynchronised table). */
  unknownFields: number;
  /** The block's bytes ended before it did (capture cut): fields after the cut are missing. */
  partial: boolean;
  /** The block was malformed; fields before the problem are kept. */
  error?: string;
}

interface Entry {
  /** Undefined when inserted with a name we could not know. */
  name: string | undefined;
  value: string;
}

/** SETTINGS_HEADER_TABLE_SIZE's default. */
export const DEFAULT_TABLE_SIZE = 4096;
/** Size updates above this are refused as garbage (peers announce kilobytes; 64 KiB per direction bounds memory per connection). */
const MAX_ACCEPTED_TABLE_SIZE = 64 * 1024;
/** Entries and bytes kept while desynchronised, whatever the (unknown) table size. */
const MAX_DESYNC_ENTRIES = 1024;
const MAX_DESYNC_BYTES = 64 * 1024;
/** Decoded bytes kept per block (HPACK bombs expand a byte into a whole entry). */
const MAX_BLOCK_BYTES = 256 * 1024;
const ENTRY_OVERHEAD = 32;

export class HpackDecoder {
  /** Newest first: entries[0] is index 62. */
  private entries: Entry[] = [];
  private tableSize = 0;
  private maxSize: number | undefined;
  private synced: boolean;

  constructor(options: { synced: boolean; maxTableSize?: number } = { synced: true }) {
    this.synced = options.synced;
    this.maxSize = options.synced ? (options.maxTableSize ?? DEFAULT_TABLE_SIZE) : undefined;
  }

  get isSynced(): boolean {
    return this.synced;
  }

  /** Header bytes were lost or mis-decoded: the table's state is unknown from here. */
  desync(): void {
    this.synced = false;
    this.entries = [];
    this.tableSize = 0;
    this.maxSize = undefined;
  }

  /** The dynamic table as [name, value] pairs, newest first (tests, diagnostics). */
  dynamicTable(): Array<[string | undefined, string]> {
    return this.entries.map((e) => [e.name, e.value]);
  }

  get dynamicTableSize(): number {
    return this.tableSize;
  }

  /** Decodes one complete header block (HEADERS or PUSH_PROMISE with its CONTINUATIONs), or the captured start of one. */
  decode(block: Buffer, complete = true): HeaderBlockResult {
    const result: HeaderBlockResult = { fields: [], unknownFields: 0, partial: !complete };
    let decodedBytes = 0;
    let offset = 0;
    let fieldsSeen = false;
    const end = block.length;
    const fail = (error: string): HeaderBlockResult => {
      // A malformed or cut block leaves the table in a state we cannot know.
      this.desync();
      if (complete) result.error = error;
      return result;
    };
    const emit = (name: string | undefined, value: string | undefined): void => {
      if (name === undefined || value === undefined) {
        result.unknownFields++;
        return;
      }
      decodedBytes += name.length + value.length;
      if (decodedBytes > MAX_BLOCK_BYTES) {
        result.unknownFields++;
        return;
      }
      result.fields.push([name, value]);
    };
    while (offset < end) {
      const first = block[offset]!;
      if (first & 0x80) {
        // Indexed header field.
        const index = readInteger(block, offset, end, 7);
        if (!index) return fail('truncated index');
        offset = index.next;
        const entry = this.lookup(index.value);
        if (entry === 'invalid') return fail(`invalid index ${index.value}`);
        emit(entry?.name, entry?.value);
        fieldsSeen = true;
      } else if ((first & 0xe0) === 0x20) {
        // Dynamic table size update: only at the start of a block (RFC 7541 4.2).
        if (fieldsSeen) return fail('table size update after a field');
        const size = readInteger(block, offset, end, 5);
        if (!size) return fail('truncated size update');
        if (size.value > MAX_ACCEPTED_TABLE_SIZE) return fail(`table size ${size.value} too large`);
        offset = size.next;
        this.setMaxSize(size.value);
      } else {
        // Literal: with incremental indexing (01), without indexing (0000) or never indexed (0001).
        const indexing = (first & 0xc0) === 0x40;
        const nameIndex = readInteger(block, offset, end, indexing ? 6 : 4);
        if (!nameIndex) return fail('truncated literal');
        offset = nameIndex.next;
        let name: string | undefined;
        if (nameIndex.value === 0) {
          const literal = readString(block, offset, end);
          if ('error' in literal) return fail(`literal name: ${literal.error}`);
          name = literal.value;
          offset = literal.next;
        } else {
          const entry = this.lookup(nameIndex.value);
          if (entry === 'invalid') return fail(`invalid name index ${nameIndex.value}`);
          name = entry?.name;
        }
        const value = readString(block, offset, end);
        if ('error' in value) return fail(`literal value: ${value.error}`);
        offset = value.next;
        if (indexing) this.insert(name, value.value);
        emit(name, value.value);
        fieldsSeen = true;
      }
    }
    if (!complete) this.desync();
    return result;
  }

  /** The entry at an index; undefined when it is real but unknown to us; 'invalid' when no table could have it. */
  private lookup(index: number): Entry | undefined | 'invalid' {
    if (index === 0) return 'invalid';
    if (index <= STATIC_TABLE_SIZE) {
      const [name, value] = STATIC_TABLE[index - 1]!;
      return { name, value };
    }
    const entry = this.entries[index - STATIC_TABLE_SIZE - 1];
    if (entry) return entry;
    // Synchronised, we know the whole table: a reference past it is an error.
    return this.synced ? 'invalid' : undefined;
  }

  private insert(name: string | undefined, value: string): void {
    this.entries.unshift({ name, value });
    if (name !== undefined) this.tableSize += entrySize(name, value);
    if (this.synced) {
      // An entry larger than the table empties it and is not kept (RFC 7541 4.4).
      this.evictTo(this.maxSize as number);
      return;
    }
    // Entries with an unknown name add nothing to tableSize, so bytes are bounded on their own.
    let held = 0;
    for (const e of this.entries) held += (e.name?.length ?? 0) + e.value.length;
    while (this.entries.length > MAX_DESYNC_ENTRIES || (held > MAX_DESYNC_BYTES && this.entries.length > 1)) {
      const old = this.entries.pop() as Entry;
      held -= (old.name?.length ?? 0) + old.value.length;
      if (old.name !== undefined) this.tableSize -= entrySize(old.name, old.value);
    }
    if (this.maxSize !== undefined) this.evictTo(this.maxSize);
    this.maybeResync();
  }

  private setMaxSize(size: number): void {
    this.maxSize = size;
    this.evictTo(size);
    if (!this.synced) this.maybeResync();
  }

  private evictTo(max: number): void {
    // While desynchronised, entries of unknown name have unknown size: the
    // eviction cannot be computed, so it is left to the FIFO argument above.
    if (!this.synced && this.entries.some((e) => e.name === undefined)) return;
    let evicted = false;
    while (this.tableSize > max && this.entries.length > 0) {
      const old = this.entries.pop() as Entry;
      this.tableSize -= entrySize(old.name as string, old.value);
      evicted = true;
    }
    // Eviction takes the oldest first: once a seen entry goes, every entry
    // older than the desync went before it, and the table is all seen.
    if (evicted && !this.synced) this.synced = true;
  }

  private maybeResync(): void {
    if (this.maxSize === undefined || this.entries.some((e) => e.name === undefined)) return;
    if (this.entries.length >= MAX_DESYNC_ENTRIES) return;
    if (this.tableSize + ENTRY_OVERHEAD > this.maxSize) this.synced = true;
  }
}

function entrySize(name: string, value: string): number {
  return name.length + value.length + ENTRY_OVERHEAD;
}
