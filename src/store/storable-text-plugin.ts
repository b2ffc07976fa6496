import {
  OperationNodeTransformer, PrimitiveValueListNode, ValueNode,
  type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult,
  type RootOperationNode, type UnknownRow,
} from 'kysely';
import { storableText } from '../domain/storable-text';

/**
 * Every string bound into a query passes storableText() on its way to the database, whichever
 * method wrote it: the one place text enters the store, so no caller can forget it. Writers that
 * hash what they store (the timeline) apply the same function first, so hash and row agree.
 */
export class StorableTextPlugin implements KyselyPlugin {
  private readonly transformer = new StorableTextTransformer();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.transformer.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

class StorableTextTransformer extends OperationNodeTransformer {
  protected override transformValue(node: ValueNode): ValueNode {
    return typeof node.value === 'string' ? { ...node, value: storableText(node.value) } : node;
  }

  protected override transformPrimitiveValueList(node: PrimitiveValueListNode): PrimitiveValueListNode {
    return node.values.some((v) => typeof v === 'string')
      ? { ...node, values: node.values.map((v) => (typeof v === 'string' ? storableText(v) : v)) }
      : node;
  }
}
