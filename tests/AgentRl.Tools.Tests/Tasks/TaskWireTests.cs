using AgentRl.Tasks;
using AgentRl.Tasks.Demonstrations;
using AgentRl.Tasks.KbMultihop;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace AgentRl.Tools.Tests.Tasks;

public sealed class TaskWireTests
{
    private static readonly Serializer Serializer =
        new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    [Fact]
    public void OrleansSerializer_KbItemAndDemonstrationMessages_RoundTrip()
    {
        var task = new KbMultihopTask();
        var item = task.Generate(TaskSplit.Train, 1, 1)[0];
        Assert.Equal(item, Serializer.Deserialize<TaskItem>(Serializer.SerializeToArray(item)));
    }

    [Fact]
    public async Task OrleansSerializer_DemonstrationMessages_RoundTrip()
    {
        var task = new KbMultihopTask();
        var item = task.Generate(TaskSplit.Train, 1, 2)[0];
        var demo = await task.BuildDemonstrationAsync(item, new LocalKbSearch(item.Documents), DemonstrationFlaw.None);
        var arithmetic = new AgentRl.Tasks.Arithmetic.ArithmeticTask(new AgentRl.Tasks.Arithmetic.ArithmeticOptions { TeacherMentalShare = 0 });
        var sum = arithmetic.Generate(TaskSplit.Train, 1, 2)[0];
        var calc = await arithmetic.BuildDemonstrationAsync(sum, new LocalCalculator());
        Assert.Equal(calc.Messages[4].Content, Serializer.Deserialize<IReadOnlyList<AgentRl.Abstractions.Chat.ChatMessage>>(Serializer.SerializeToArray(calc.Messages))![4].Content);
        var copy = Serializer.Deserialize<IReadOnlyList<AgentRl.Abstractions.Chat.ChatMessage>>(Serializer.SerializeToArray(demo.Messages));
        Assert.Equal(demo.Messages.Select(m => (m.Role, m.Content, m.ToolName)), copy!.Select(m => (m.Role, m.Content, m.ToolName)));
    }
}
