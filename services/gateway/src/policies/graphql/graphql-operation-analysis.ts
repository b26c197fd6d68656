import { Kind, parse, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from "graphql";
import type { GraphqlOperation } from "@tollgate/events";

/** What a query costs, measured on the operation that will run, fragments expanded. */
export interface OperationMeasures {
  /** Deepest field nesting: `{ a { b } }` is 2. */
  depth: number;
  /** Fields selected under an alias. */
  aliases: number;
  /** Fields selected: each field counts 1, a fragment's fields count at every spread. */
  complexity: number;
  /** Whether the operation selects __schema or __type (__typename is not introspection). */
  introspection: boolean;
}

export type AnalysedOperation = GraphqlOperation & OperationMeasures;

/**
 * Most selections one analysis visits. Fragments spreading fragments can expand
 * exponentially without adding a field or a level (a "fragment bomb"), so no limit of
 * the route would stop the walk; this one always does.
 */
export const maxVisitedSelections = 100_000;

/** A document the gateway refuses before measuring it: not GraphQL, too many tokens, no operation to run. */
export class GraphqlDocumentError extends Error {}

/**
 * Parses the document (at most `maxTokens` tokens: the parser's own bound on hostile
 * input) and measures the operation that will run: the one named `operationName`, or
 * the document's only one. Measuring stops early once `stopAt` is passed, so a query
 * built to explode through fragment spreads costs no more than the limit it breaks.
 */
export function analyseOperation(query: string, operationName: string | null, options: { maxTokens: number; stopAt: Partial<OperationMeasures> }): AnalysedOperation {
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens: options.maxTokens, noLocation: true });
  } catch (error) {
    throw new GraphqlDocumentError(error instanceof Error ? error.message : "the query cannot be parsed");
  }
  const operation = selectOperation(document, operationName);
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const measures: OperationMeasures = { depth: 0, aliases: 0, complexity: 0, introspection: false };
  const stopDepth = options.stopAt.depth ?? Number.POSITIVE_INFINITY;
  const stopAliases = options.stopAt.aliases ?? Number.POSITIVE_INFINITY;
  const stopComplexity = options.stopAt.complexity ?? Number.POSITIVE_INFINITY;
  let visited = 0;
  const over = (): boolean => measures.depth > stopDepth || measures.aliases > stopAliases || measures.complexity > stopComplexity;

  /** Depth-first; `spreading` holds the fragments being expanded on this path (a cycle is a validation error upstream; here it just stops). */
  const visit = (selectionSet: SelectionSetNode, depth: number, spreading: Set<string>): void => {
    for (const selection of selectionSet.selections) {
      if (over()) return;
      if (++visited > maxVisitedSelections) throw new GraphqlDocumentError(`the query expands to more than ${maxVisitedSelections} selections`);
      switch (selection.kind) {
        case Kind.FIELD: {
          const name = selection.name.value;
          if (name === "__schema" || name === "__type") measures.introspection = true;
          measures.complexity += 1;
          if (selection.alias !== undefined) measures.aliases += 1;
          if (depth > measures.depth) measures.depth = depth;
          if (selection.selectionSet !== undefined) visit(selection.selectionSet, depth + 1, spreading);
          break;
        }
        case Kind.INLINE_FRAGMENT:
          visit(selection.selectionSet, depth, spreading);
          break;
        case Kind.FRAGMENT_SPREAD: {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (fragment === undefined || spreading.has(name)) break;
          spreading.add(name);
          visit(fragment.selectionSet, depth, spreading);
          spreading.delete(name);
          break;
        }
      }
    }
  };
  visit(operation.selectionSet, 1, new Set());
  return { operationName: operation.name?.value ?? null, operationType: operation.operation, ...measures };
}

function selectOperation(document: DocumentNode, operationName: string | null): OperationDefinitionNode {
  const operations = document.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);
  if (operations.length === 0) throw new GraphqlDocumentError("the document contains no operation");
  if (operationName !== null) {
    const named = operations.find((operation) => operation.name?.value === operationName);
    if (named === undefined) throw new GraphqlDocumentError(`the document has no operation named "${operationName.slice(0, 100)}"`);
    return named;
  }
  if (operations.length > 1) throw new GraphqlDocumentError("the document has several operations: name the one to run in `operationName`");
  return operations[0] as OperationDefinitionNode;
}
