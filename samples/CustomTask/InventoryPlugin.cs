using System.ComponentModel;
using Microsoft.SemanticKernel;

namespace AgentRl.Samples.CustomTask;

/// <summary>
/// A small stock ledger as a tool plugin (registered as <c>inventory</c>: tools <c>inventory-add</c> and
/// <c>inventory-count</c>). AgentRl creates one instance per episode's sandbox session, so the stock carries across the
/// calls of one episode and starts empty in the next.
/// </summary>
public sealed class InventoryPlugin
{
    private readonly Dictionary<string, long> _stock = new(StringComparer.OrdinalIgnoreCase);

    [KernelFunction("add")]
    [Description("Adds a quantity of an item to the stock (negative to remove) and returns the item's new stock.")]
    public long Add(
        [Description("The item, e.g. apples")] string item,
        [Description("How many to add (negative to remove)")] long quantity)
    {
        var stock = _stock.GetValueOrDefault(item) + quantity;
        if (stock < 0)
        {
            throw new ArgumentException($"only {_stock.GetValueOrDefault(item)} {item} in stock; cannot remove {-quantity}.");
        }

        return _stock[item] = stock;
    }

    [KernelFunction("count")]
    [Description("Returns the stock of an item (0 when it was never added).")]
    public long Count([Description("The item, e.g. apples")] string item) => _stock.GetValueOrDefault(item);
}
