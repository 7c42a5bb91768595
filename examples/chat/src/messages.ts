/** The chat protocol's messages, declared with protobufjs (no .proto file needed). */
import protobuf from 'protobufjs'

const root = protobuf.Root.fromJSON({
  nested: {
    chat: {
      nested: {
        Hello: { fields: { name: { type: 'string', id: 1 }, address: { type: 'string', id: 2 } } },
        Text: { fields: { text: { type: 'string', id: 1 }, direct: { type: 'bool', id: 2 }, from: { type: 'string', id: 3 } } },
        Members: { fields: { addresses: { rule: 'repeated', type: 'string', id: 1 } } },
        ChatMessage: {
          oneofs: { kind: { oneof: ['hello', 'text', 'members'] } },
          fields: { hello: { type: 'Hello', id: 1 }, text: { type: 'Text', id: 2 }, members: { type: 'Members', id: 3 } }
        }
      }
    }
  }
})

export interface ChatMessage {
  hello?: { name: string, address: string }
  /** `from`: the author's name when a member relays another's line (see ChatReactor). */
  text?: { text: string, direct?: boolean, from?: string }
  members?: { addresses: string[] }
}

export const ChatMessageType = root.lookupType('chat.ChatMessage') as unknown as {
  encode: (m: ChatMessage) => { finish: () => Uint8Array }
  decode: (b: Uint8Array) => ChatMessage
  fromObject: (o: object) => ChatMessage
}
